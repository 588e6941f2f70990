using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Onnx;

/// <summary>
/// Graph edits on an <see cref="OnnxModel"/>. Each mutates the model in place and keeps it valid for ONNX Runtime;
/// every new output is declared with full type and shape (ML.NET's ONNX importer needs the shape).
/// </summary>
internal static partial class OnnxGraphEdits
{
    /// <summary>Describes the image input, outputs, operators and parameter count; refuses a non-image input.</summary>
    /// <exception cref="OnnxFormatException">No input of shape [N,3,H,W] float.</exception>
    public static OnnxImageModelInfo Inspect(OnnxModel model)
    {
        var g = model.Graph;
        var input = ImageInput(model);
        var ops = g.Node.GroupBy(n => n.QualifiedOp).OrderBy(x => x.Key, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.Count());
        long parameters = g.Initializer.Where(t => t.Dims.Count >= 1 && t.ElementType is OnnxDataType.Float or OnnxDataType.Uint8 or OnnxDataType.Int8 or OnnxDataType.Double)
            .Sum(t => t.ElementCount);
        return new OnnxImageModelInfo(input.Name!, DimsOf(input), [.. g.Output.Select(o => (o.Name!, DimsOf(o)))], ops, parameters, model.OpsetVersion());
    }

    /// <summary>The graph's image input: the first non-initializer input, checked to be float [N,3,H,W].</summary>
    internal static ValueInfoProto ImageInput(OnnxModel model, string? name = null)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet();
        var inputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var input = name is null ? inputs.First() : inputs.FirstOrDefault(i => i.Name == name)
            ?? throw new OnnxFormatException($"{model.Source}: no graph input named '{name}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))}).");
        var tensor = input.Type?.TensorType;
        var dims = tensor?.Shape?.Dim;
        bool ok = tensor?.ElemType == (int)OnnxDataType.Float && dims is { Count: 4 } && (dims[1].Size is null or 3);
        if (!ok)
            throw new OnnxFormatException($"{model.Source}: input '{input.Name}' is {(OnnxDataType)(tensor?.ElemType ?? 0)} [{string.Join(",", DimsOf(input))}]; an image model needs float [N,3,H,W].");
        return input;
    }

    /// <summary>
    /// Replaces fixed input dims by symbols: <paramref name="dimNames"/>[i] names dim i, null keeps it (e.g. N, null, H, W
    /// turns [1,3,224,224] into [N,3,H,W]). Intermediate value_info shapes are dropped, since they would pin the old size;
    /// ONNX Runtime infers them again.
    /// </summary>
    public static void MakeInputDimsSymbolic(OnnxModel model, string? inputName, params string?[] dimNames)
    {
        var input = ImageInput(model, inputName);
        var dims = input.Type!.TensorType!.Shape!.Dim;
        for (int i = 0; i < Math.Min(dims.Count, dimNames.Length); i++)
            if (dimNames[i] is { } symbol && !(i == 1 && dims[i].DimValue == 3))
                dims[i] = new TensorShapeProto.Types.Dimension { DimParam = symbol };
        model.Graph.ValueInfo.Clear();
        foreach (var output in model.Graph.Output)
            if (output.Type?.TensorType?.Shape is { Dim.Count: > 0 } shape && shape.Dim[0].HasDimValue)
                shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = dimNames.FirstOrDefault() ?? "N" };
    }

    /// <summary>Declares an existing tensor as a graph output (dims: null = symbolic batch/size).</summary>
    internal static void ExposeTensorAsOutput(OnnxModel model, string tensorName, OnnxDataType type, long?[] dims)
    {
        RequireProduced(model, tensorName);
        model.Graph.Output.RemoveAll(o => o.Name == tensorName);
        model.Graph.Output.Add(ValueInfoProto.Tensor(tensorName, type, dims, Symbols(dims)));
    }

    /// <summary>
    /// Adds DequantizeLinear on a quantized tensor ((q − zero point) × scale) and declares the float result as an output,
    /// flattened to [N, D] when <paramref name="flatten"/>.
    /// </summary>
    public static void ExposeDequantized(OnnxModel model, string quantizedTensor, string scaleTensor, string zeroPointTensor,
        string outputName, long?[] dims, bool flatten = false)
    {
        RequireProduced(model, quantizedTensor);
        var g = model.Graph;
        string dequantized = flatten ? outputName + "_unflattened" : outputName;
        g.Node.Add(NodeProto.Create("DequantizeLinear", [quantizedTensor, scaleTensor, zeroPointTensor], [dequantized], outputName + "_dequantize"));
        if (flatten)
            g.Node.Add(NodeProto.Create("Flatten", [dequantized], [outputName], outputName + "_flatten", null, AttributeProto.Int("axis", 1)));
        g.Output.RemoveAll(o => o.Name == outputName);
        g.Output.Add(ValueInfoProto.Tensor(outputName, OnnxDataType.Float, dims, Symbols(dims)));
    }

    /// <summary>Adds Flatten(axis 1) on a float tensor and declares the result as an output [N, D].</summary>
    public static void ExposeFlattened(OnnxModel model, string tensorName, string outputName, long?[] dims)
    {
        RequireProduced(model, tensorName);
        model.Graph.Node.Add(NodeProto.Create("Flatten", [tensorName], [outputName], outputName + "_flatten", null, AttributeProto.Int("axis", 1)));
        model.Graph.Output.RemoveAll(o => o.Name == outputName);
        model.Graph.Output.Add(ValueInfoProto.Tensor(outputName, OnnxDataType.Float, dims, Symbols(dims)));
    }

    /// <summary>
    /// Multi-block features: GlobalAveragePool + Flatten on each of <paramref name="pooledTensors"/> ([N,C,h,w]), Flatten on
    /// <paramref name="mainTensor"/>, concatenated in that order into the output [N, <paramref name="width"/>].
    /// </summary>
    public static void ExposePooledConcat(OnnxModel model, IReadOnlyList<string> pooledTensors, string mainTensor, string outputName, long width)
    {
        var g = model.Graph;
        var pieces = new List<string>();
        foreach (var t in pooledTensors.Append(mainTensor))
        {
            RequireProduced(model, t);
            string source = t;
            if (t != mainTensor)
            {
                source = $"{outputName}_{t}_pooled";
                g.Node.Add(NodeProto.Create("GlobalAveragePool", [t], [source], source));
            }
            string flat = $"{outputName}_{t}_flat";
            g.Node.Add(NodeProto.Create("Flatten", [source], [flat], flat, null, AttributeProto.Int("axis", 1)));
            pieces.Add(flat);
        }
        g.Node.Add(NodeProto.Create("Concat", pieces, [outputName], outputName + "_concat", null, AttributeProto.Int("axis", 1)));
        g.Output.RemoveAll(o => o.Name == outputName);
        g.Output.Add(ValueInfoProto.Tensor(outputName, OnnxDataType.Float, [null, width], Symbols([null, width])));
    }

    /// <summary>
    /// Keeps only <paramref name="keepOutputs"/> as outputs and removes every node, initializer, input and value_info
    /// they do not need (e.g. truncates a classifier at its embedding).
    /// </summary>
    public static void Prune(OnnxModel model, params string[] keepOutputs)
    {
        var g = model.Graph;
        var missing = keepOutputs.Where(o => g.Output.All(x => x.Name != o)).ToList();
        if (missing.Count > 0) throw new ArgumentException($"{model.Source}: not graph outputs: {string.Join(", ", missing)}.");
        g.Output.RemoveAll(o => !keepOutputs.Contains(o.Name));

        var producer = new Dictionary<string, NodeProto>();
        foreach (var n in g.Node) foreach (var o in n.Output) producer[o] = n;
        var needed = new HashSet<string>();
        var keptNodes = new HashSet<NodeProto>();
        var stack = new Stack<string>(keepOutputs);
        while (stack.Count > 0)
        {
            var name = stack.Pop();
            if (!needed.Add(name)) continue;
            if (producer.TryGetValue(name, out var node) && keptNodes.Add(node))
                foreach (var i in node.Input.Where(i => i.Length > 0)) stack.Push(i);
        }
        g.Node.RemoveAll(n => !keptNodes.Contains(n));
        g.Initializer.RemoveAll(t => !needed.Contains(t.Name!));
        g.Input.RemoveAll(i => !needed.Contains(i.Name!));
        g.ValueInfo.RemoveAll(v => !needed.Contains(v.Name!));
    }

    /// <summary>
    /// Puts a new input in front of the image input so decoded pixels go straight in: layout conversion, optional resize,
    /// channel reorder (BGR networks), then normalization folded into one Mul and one Add ((x·scale − mean − mean image)/std
    /// = x·a + b, with b per pixel when there is a mean image).
    /// </summary>
    public static void PrependPreprocessing(OnnxModel model, PreprocessingSpec spec)
    {
        var g = model.Graph;
        var original = ImageInput(model);
        if (spec.ResizeTo is not null && model.OpsetVersion() < 11)
            throw new OnnxFormatException($"{model.Source}: opset {model.OpsetVersion()} predates Resize with sizes (11); resize before the graph instead.");
        var p = spec.InputName;
        var nodes = new List<NodeProto>();
        string x = p;
        float pixelScale = 1f;
        switch (spec.Layout)
        {
            case PixelLayout.FloatNchw01:
                g.Input.Insert(0, ValueInfoProto.Tensor(p, OnnxDataType.Float, [null, 3, null, null], ["N", null, "H", "W"]));
                break;
            case PixelLayout.Rgba8Nhwc:
            case PixelLayout.Rgb8Nhwc:
                int channels = spec.Layout == PixelLayout.Rgba8Nhwc ? 4 : 3;
                g.Input.Insert(0, ValueInfoProto.Tensor(p, OnnxDataType.Uint8, [null, null, null, channels], ["N", "H", "W", null]));
                nodes.Add(NodeProto.Create("Cast", [x], [$"{p}_float"], $"{p}_cast", null, AttributeProto.Int("to", (long)OnnxDataType.Float)));
                x = $"{p}_float";
                if (channels == 4)
                {
                    g.Initializer.Add(TensorProto.FromInt64s($"{p}_rgb_start", [1], [0]));
                    g.Initializer.Add(TensorProto.FromInt64s($"{p}_rgb_end", [1], [3]));
                    g.Initializer.Add(TensorProto.FromInt64s($"{p}_rgb_axis", [1], [3]));
                    nodes.Add(NodeProto.Create("Slice", [x, $"{p}_rgb_start", $"{p}_rgb_end", $"{p}_rgb_axis"], [$"{p}_rgb"], $"{p}_drop_alpha"));
                    x = $"{p}_rgb";
                }
                nodes.Add(NodeProto.Create("Transpose", [x], [$"{p}_nchw"], $"{p}_to_nchw", null, AttributeProto.IntList("perm", 0, 3, 1, 2)));
                x = $"{p}_nchw";
                pixelScale = 1f / 255;
                break;
        }
        if (spec.ResizeTo is var (height, width))
        {
            g.Initializer.Add(TensorProto.FromFloats($"{p}_roi", [0], []));
            g.Initializer.Add(TensorProto.FromFloats($"{p}_scales", [0], []));
            g.Initializer.Add(TensorProto.FromInt64s($"{p}_hw", [2], [height, width]));
            g.Initializer.Add(TensorProto.FromInt64s($"{p}_zero", [1], [0]));
            g.Initializer.Add(TensorProto.FromInt64s($"{p}_two", [1], [2]));
            nodes.Add(NodeProto.Create("Shape", [x], [$"{p}_shape"], $"{p}_shape"));
            nodes.Add(NodeProto.Create("Slice", [$"{p}_shape", $"{p}_zero", $"{p}_two"], [$"{p}_nc"], $"{p}_nc"));
            nodes.Add(NodeProto.Create("Concat", [$"{p}_nc", $"{p}_hw"], [$"{p}_sizes"], $"{p}_sizes", null, AttributeProto.Int("axis", 0)));
            nodes.Add(NodeProto.Create("Resize", [x, $"{p}_roi", $"{p}_scales", $"{p}_sizes"], [$"{p}_resized"], $"{p}_resize", null,
                AttributeProto.String("mode", "linear"), AttributeProto.String("coordinate_transformation_mode", "half_pixel")));
            x = $"{p}_resized";
        }
        var norm = (spec.Normalization ?? new ImageNormalization(spec.Mean, spec.Std)).Validate();
        if (norm.ChannelOrder != ChannelOrder.Rgb)
        {
            g.Initializer.Add(TensorProto.FromInt64s($"{p}_planes", [3], [.. norm.SourcePlanes.Select(i => (long)i)]));
            nodes.Add(NodeProto.Create("Gather", [x, $"{p}_planes"], [$"{p}_reordered"], $"{p}_channel_order", null, AttributeProto.Int("axis", 1)));
            x = $"{p}_reordered";
        }
        var a = new float[3];
        for (int c = 0; c < 3; c++) a[c] = pixelScale * norm.PixelScale / norm.Std[c];
        g.Initializer.Add(TensorProto.FromFloats($"{p}_scale", [1, 3, 1, 1], a));
        int offsetSize = spec.ResizeTo?.Height ?? (int)original.Type!.TensorType!.Shape!.Dim[2].DimValue;
        if (norm.MeanImage is not null && (offsetSize <= 0 || (spec.ResizeTo is var (h, w) && h != w)))
            throw new ArgumentException($"{model.Source}: a mean image needs a square network size (set {nameof(PreprocessingSpec.ResizeTo)}).");
        var offset = norm.OffsetImage(offsetSize);
        int plane = offset is null ? 1 : offsetSize * offsetSize;
        var b = new float[3 * plane];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++) b[c * plane + i] = -norm.Mean[c] / norm.Std[c] - (offset?[c * plane + i] ?? 0);
        g.Initializer.Add(TensorProto.FromFloats($"{p}_shift", offset is null ? [1, 3, 1, 1] : [1, 3, offsetSize, offsetSize], b));
        nodes.Add(NodeProto.Create("Mul", [x, $"{p}_scale"], [$"{p}_scaled"], $"{p}_mul"));
        nodes.Add(NodeProto.Create("Add", [$"{p}_scaled", $"{p}_shift"], [original.Name!], $"{p}_normalize"));
        g.Input.Remove(original);
        g.Node.InsertRange(0, nodes);
    }

    private static void RequireProduced(OnnxModel model, string tensor)
    {
        var g = model.Graph;
        if (!g.Node.Any(n => n.Output.Contains(tensor)) && g.FindInitializer(tensor) is null && g.Input.All(i => i.Name != tensor))
            throw new ArgumentException($"{model.Source}: no tensor named '{tensor}' in the graph.");
    }

    private static string?[] Symbols(long?[] dims) => [.. dims.Select((d, i) => d is null ? (i == 0 ? "N" : $"d{i}") : null)];

    private static IReadOnlyList<string> DimsOf(ValueInfoProto v) =>
        v.Type?.TensorType?.Shape?.Dim.Select(d => d.Text).ToList() ?? [];
}
