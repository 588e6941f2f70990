using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Torch;

/// <summary>
/// An ONNX graph running as a trainable TorchSharp module: nodes execute in topological order as TorchSharp ops, weights
/// (Conv, Gemm/MatMul, BatchNorm scale/bias) are named <see cref="Parameter"/>s, BatchNorm running statistics are buffers,
/// and other constants stay plain tensors. Create it with <see cref="OnnxTorchImporter"/>.
/// </summary>
public sealed class OnnxTorchModule : nn.Module<Tensor, Tensor>
{
    private readonly Dictionary<string, Tensor> weights = [];   // ONNX name → Parameter or buffer
    private readonly Dictionary<string, Tensor> constants = []; // ONNX name → non-trainable constant
    private readonly HashSet<string> parameterNames = [];
    private readonly List<NodeProto> allNodes;
    private List<NodeProto> nodes;
    private readonly HashSet<NodeProto> frozenNodes = [];
    private readonly HashSet<Tensor> owned = new(ReferenceEqualityComparer.Instance); // weights and constants: never freed by Run

    internal OnnxTorchModule(OnnxModel floatModel, string inputName, string outputName) : base("OnnxTorchModule")
    {
        Model = floatModel;
        InputName = inputName;
        OutputName = outputName;
        Opset = floatModel.OpsetVersion();
        allNodes = [.. floatModel.TopologicalOrder()];
        foreach (var n in allNodes)
            if (n.OpType != "Constant" && !OnnxOps.All.ContainsKey(n.OpType!))
                throw new UnsupportedOperatorException($"{floatModel.Source}: {n.Label}: operator {n.QualifiedOp} is not supported by the TorchSharp importer.");
        var trainable = TrainableInitializers(allNodes);
        var buffers = allNodes.Where(n => n.OpType == "BatchNormalization").SelectMany(n => n.Input.Skip(3).Take(2)).ToHashSet();
        var used = new HashSet<string>();
        foreach (var t in floatModel.Graph.Initializer)
        {
            var name = t.Name!;
            var tensor = ToTensor(t);
            if (trainable.Contains(name))
            {
                var p = new Parameter(tensor, requires_grad: true);
                register_parameter(Unique(name, used), p);
                weights[name] = p;
                parameterNames.Add(name);
            }
            else if (buffers.Contains(name))
            {
                register_buffer(Unique(name, used), tensor);
                weights[name] = tensor;
            }
            else constants[name] = tensor;
        }
        foreach (var n in allNodes.Where(n => n.OpType == "Constant"))
            constants[n.Output[0]] = ToTensor(n.FindAttribute("value")?.T
                ?? throw new UnsupportedOperatorException($"{n.Label}: only tensor-valued Constant nodes are supported."));
        owned.UnionWith(weights.Values.Concat(constants.Values));
        nodes = Needed(allNodes, outputName);
        Blocks = BlockFinder.Find(allNodes, floatModel.Graph);
    }

    /// <summary>The float ONNX model this module runs (weights as imported; see <see cref="TorchOnnxExporter"/> for current ones).</summary>
    public OnnxModel Model { get; }

    /// <summary>The graph input name.</summary>
    public string InputName { get; }

    /// <summary>The tensor returned by forward (the graph output, or the embedding after <see cref="CutAt"/>).</summary>
    public string OutputName { get; private set; }

    /// <summary>Default-domain opset of the model.</summary>
    public int Opset { get; }

    /// <summary>Blocks found in the graph, in order (stem first), for freezing.</summary>
    public IReadOnlyList<BackboneBlock> Blocks { get; private set; }

    /// <summary>Nodes executed by forward, in order.</summary>
    internal IReadOnlyList<NodeProto> Nodes => nodes;

    /// <summary>Number of blocks currently frozen (from the start).</summary>
    public int FrozenBlocks { get; private set; }

    /// <summary>Trainable weights by ONNX initializer name.</summary>
    public IReadOnlyDictionary<string, Tensor> Weights => weights;

    /// <summary>True for names that are parameters (not BatchNorm statistics).</summary>
    public bool IsParameter(string onnxName) => parameterNames.Contains(onnxName);

    /// <summary>Makes forward stop at <paramref name="tensorName"/> (e.g. the pooled embedding) and drops the rest.</summary>
    public void CutAt(string tensorName)
    {
        if (!allNodes.Any(n => n.Output.Contains(tensorName)))
            throw new ArgumentException($"{Model.Source}: no node produces '{tensorName}'.");
        OutputName = tensorName;
        nodes = Needed(allNodes, tensorName);
    }

    /// <summary>
    /// Freezes blocks [0, <paramref name="blockCount"/>): their parameters stop requiring gradients and their BatchNorm
    /// layers stay in inference mode (running statistics untouched) even when the module trains. Later blocks thaw.
    /// </summary>
    public void Freeze(int blockCount)
    {
        blockCount = Math.Clamp(blockCount, 0, Blocks.Count);
        FrozenBlocks = blockCount;
        frozenNodes.Clear();
        var frozenWeights = new HashSet<string>();
        for (int b = 0; b < Blocks.Count; b++)
        {
            bool frozen = b < blockCount;
            foreach (var node in Blocks[b].Nodes)
            {
                if (frozen) frozenNodes.Add(node);
                foreach (var input in node.Input.Where(parameterNames.Contains))
                    if (frozen) frozenWeights.Add(input);
            }
        }
        foreach (var name in parameterNames)
            weights[name].requires_grad = !frozenWeights.Contains(name);
    }

    /// <summary>
    /// Replaces the blocks found from the graph by blocks ending at <paramref name="blockOutputs"/> (a catalog's boundaries:
    /// stem, then each unit), in order; what follows the last one is the head. Call before freezing.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor no node produces, or boundaries out of execution order.</exception>
    public void UseBlockBoundaries(IReadOnlyList<string> blockOutputs)
    {
        var ends = new List<int>();
        foreach (var tensor in blockOutputs)
        {
            int at = allNodes.FindIndex(n => n.Output.Contains(tensor));
            if (at < 0) throw new ArgumentException($"{Model.Source}: block boundary '{tensor}' is not produced by any node.");
            if (ends.Count > 0 && at <= ends[^1]) throw new ArgumentException($"{Model.Source}: block boundary '{tensor}' comes before the previous one.");
            ends.Add(at);
        }
        var blocks = new List<BackboneBlock>();
        int from = 0;
        for (int b = 0; b < ends.Count; b++)
        {
            blocks.Add(new BackboneBlock(b == 0 ? "stem" : $"block{b}", allNodes[from..(ends[b] + 1)]));
            from = ends[b] + 1;
        }
        if (from < allNodes.Count) blocks.Add(new BackboneBlock("head", allNodes[from..]));
        Blocks = blocks;
        Freeze(0);
    }

    /// <summary>Trainable parameters of blocks [from, to), for per-block learning rates.</summary>
    public IEnumerable<Parameter> ParametersOf(int fromBlock, int toBlock) =>
        Blocks.Skip(fromBlock).Take(toBlock - fromBlock).SelectMany(b => b.Nodes).SelectMany(n => n.Input)
            .Where(parameterNames.Contains).Distinct().Select(n => (Parameter)weights[n]);

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Run(InputName, input, nodes, OutputName);

    /// <summary>Runs blocks [0, <paramref name="block"/>) and returns their output (the boundary tensor).</summary>
    public Tensor ForwardTo(Tensor input, int block)
    {
        if (block <= 0) return input;
        var inBlocks = Blocks.Take(block).SelectMany(b => b.Nodes).ToHashSet();
        return Run(InputName, input, [.. nodes.Where(inBlocks.Contains)], Blocks[block - 1].Output);
    }

    /// <summary>Runs from the boundary before <paramref name="block"/> (its input tensor given) to the output.</summary>
    public Tensor ForwardFrom(Tensor boundary, int block)
    {
        if (block <= 0) return forward(boundary);
        var before = Blocks.Take(block).SelectMany(b => b.Nodes).ToHashSet();
        return Run(Blocks[block - 1].Output, boundary, [.. nodes.Where(n => !before.Contains(n))], OutputName);
    }

    private Tensor Run(string startName, Tensor start, IReadOnlyList<NodeProto> toRun, string output)
    {
        // Each intermediate is disposed right after its last reader runs. Without this every activation of the pass
        // lives until the caller's dispose scope ends, so peak memory is their sum and, at 224 px, fresh pages are
        // faulted in for every batch. Autograd keeps its own references to what backward needs, so this is safe in training.
        var lastUse = new Dictionary<string, int>();
        for (int n = 0; n < toRun.Count; n++)
            foreach (var name in toRun[n].Input) lastUse[name] = n;
        var inPlace = InPlace ? InPlaceNodes(toRun, startName, output) : [];
        var first = ChannelsLast && start.dim() == 4 ? ToChannelsLast(start) : start;
        var env = new Dictionary<string, Tensor>(toRun.Count * 2) { [startName] = first };
        for (int n = 0; n < toRun.Count; n++)
        {
            var node = toRun[n];
            var inputs = new Tensor?[node.Input.Count];
            for (int i = 0; i < inputs.Length; i++)
            {
                var name = node.Input[i];
                if (name.Length == 0) continue;
                inputs[i] = env.TryGetValue(name, out var t) ? t : weights.TryGetValue(name, out t) ? t
                    : constants.TryGetValue(name, out t) ? t
                    : throw new InvalidOperationException($"{node.Label}: input '{name}' has no value.");
            }
            var outputs = OnnxOps.All[node.OpType!](node, inputs, new OnnxOps.OpContext(training, Opset, frozenNodes.Contains(node), inPlace.Contains(node)));
            for (int i = 0; i < outputs.Length && i < node.Output.Count; i++) env[node.Output[i]] = outputs[i];
            foreach (var name in node.Input)
                if (name != startName && name != output && lastUse.GetValueOrDefault(name, -1) == n && env.Remove(name, out var done)
                    && !ReferenceEquals(done, start) && !owned.Contains(done) && !env.Values.Any(v => ReferenceEquals(v, done)))
                    done.Dispose();
        }
        var result = env[output];
        if (!ReferenceEquals(first, start) && !ReferenceEquals(first, result)) first.Dispose();
        // Callers read results as NCHW arrays (feature caches, Grad-CAM maps): hand back the usual layout.
        if (result.dim() == 4 && !result.is_contiguous() && !ReferenceEquals(result, start) && !owned.Contains(result))
        {
            var contiguous = result.contiguous();
            result.Dispose();
            result = contiguous;
        }
        return result;
    }

    /// <summary>
    /// Whether ReLU, Clip and Add may overwrite their first input (default true); off only to compare against the
    /// out-of-place results in tests.
    /// </summary>
    internal bool InPlace { get; set; } = true;

    /// <summary>
    /// Whether a 4-D input runs in channels-last (NHWC) strides, default true. libtorch's oneDNN convolutions train
    /// ResNet-18 about 1.3× faster that way on CPU at 224 px (docs/benchmarks.md); the shapes, and the layout of what
    /// forward returns, are unchanged.
    /// </summary>
    internal bool ChannelsLast { get; set; } = true;

    // NHWC strides under the NCHW shape, which is what PyTorch's memory_format=channels_last produces; convolutions
    // then pick oneDNN's NHWC kernels and every op after them keeps that layout.
    internal static Tensor ToChannelsLast(Tensor t) => t.is_contiguous() ? t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : t;

    /// <summary>The nodes of forward that run in place (see <see cref="InPlaceNodes(IReadOnlyList{NodeProto}, string, string)"/>).</summary>
    internal IReadOnlySet<NodeProto> InPlaceNodesOfForward() => InPlaceNodes(nodes, InputName, OutputName);

    // A node may overwrite its first input when that input is a fresh result (a Conv, BatchNorm or Add output, so no
    // view of it exists) read by this node alone, and is neither the tensor the pass started from nor the one it returns.
    private static HashSet<NodeProto> InPlaceNodes(IReadOnlyList<NodeProto> toRun, string startName, string output)
    {
        var readers = new Dictionary<string, int>();
        var producers = new Dictionary<string, string>();
        foreach (var node in toRun)
        {
            foreach (var name in node.Input) readers[name] = readers.GetValueOrDefault(name) + 1;
            foreach (var name in node.Output) producers[name] = node.OpType!;
        }
        var result = new HashSet<NodeProto>();
        foreach (var node in toRun)
        {
            if (!OnnxOps.InPlaceCapable.Contains(node.OpType!) || node.Input.Count == 0) continue;
            var first = node.Input[0];
            if (first != startName && first != output && readers.GetValueOrDefault(first) == 1
                && producers.TryGetValue(first, out var op) && OnnxOps.OverwritableProducers.Contains(op))
                result.Add(node);
        }
        return result;
    }

    private static List<NodeProto> Needed(List<NodeProto> all, string output)
    {
        var producer = new Dictionary<string, NodeProto>();
        foreach (var n in all) foreach (var o in n.Output) producer[o] = n;
        var keep = new HashSet<NodeProto>();
        var stack = new Stack<string>([output]);
        while (stack.Count > 0)
            if (producer.TryGetValue(stack.Pop(), out var n) && keep.Add(n))
                foreach (var i in n.Input) stack.Push(i);
        return [.. all.Where(keep.Contains)];
    }

    private static HashSet<string> TrainableInitializers(IEnumerable<NodeProto> nodes)
    {
        var names = new HashSet<string>();
        foreach (var n in nodes)
        {
            IEnumerable<string> w = n.OpType switch
            {
                "Conv" or "Gemm" => n.Input.Skip(1).Take(2),
                "MatMul" => n.Input.Skip(1).Take(1),
                "BatchNormalization" => n.Input.Skip(1).Take(2),
                _ => [],
            };
            foreach (var name in w.Where(s => s.Length > 0)) names.Add(name);
        }
        return names;
    }

    internal static Tensor ToTensor(TensorProto t)
    {
        var dims = t.Dims.ToArray();
        return t.ElementType switch
        {
            OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 when t.ElementType != OnnxDataType.Float16 =>
                torch.tensor(t.ToFloatArray(), dims, ScalarType.Float32),
            OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Int8 or OnnxDataType.Uint8 or OnnxDataType.Int16 or OnnxDataType.Uint16 or OnnxDataType.Bool =>
                torch.tensor(t.ToInt64Array(), dims, ScalarType.Int64),
            var other => throw new UnsupportedOperatorException($"tensor '{t.Name}': element type {other} is not supported."),
        };
    }

    private static string Unique(string onnxName, HashSet<string> used)
    {
        var baseName = new string([.. onnxName.Select(ch => char.IsLetterOrDigit(ch) ? ch : '_')]);
        var name = baseName;
        for (int i = 1; !used.Add(name); i++) name = $"{baseName}_{i}";
        return name;
    }
}
