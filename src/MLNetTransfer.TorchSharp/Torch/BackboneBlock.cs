using MLNetTransfer.Onnx.Proto;

namespace MLNetTransfer.Torch;

/// <summary>A contiguous group of nodes that is frozen or trained as a unit (stem, a residual block, the head).</summary>
public sealed record BackboneBlock
{
    internal BackboneBlock(string name, IReadOnlyList<NodeProto> nodes) => (Name, Nodes) = (name, nodes);

    /// <summary>"stem", "block1", …, "last_conv", "head".</summary>
    public string Name { get; }

    /// <summary>Its nodes, in execution order.</summary>
    internal IReadOnlyList<NodeProto> Nodes { get; }

    /// <summary>The tensor the block hands to the next one.</summary>
    public string Output => Nodes[^1].Output[0];
}

/// <summary>
/// Finds block boundaries from the graph alone. A boundary can only sit where a single activation tensor is alive
/// (every path goes through it). Networks built of depthwise-separable blocks (MobileNet) get one block per depthwise
/// convolution, starting at its expansion 1×1 conv; residual networks (ResNet) get one block per residual unit.
/// </summary>
internal static class BlockFinder
{
    public static IReadOnlyList<BackboneBlock> Find(IReadOnlyList<NodeProto> nodes, GraphProto graph)
    {
        int n = nodes.Count;
        var constants = graph.Initializer.Select(t => t.Name!).Concat(nodes.Where(x => x.OpType == "Constant").SelectMany(x => x.Output)).ToHashSet();
        var producer = new Dictionary<string, int>();
        var lastUse = new Dictionary<string, int>();
        var uses = new Dictionary<string, int>();
        foreach (var input in graph.Input.Where(i => !constants.Contains(i.Name!))) producer[input.Name!] = -1;
        for (int i = 0; i < n; i++)
        {
            foreach (var t in nodes[i].Input.Where(t => t.Length > 0 && !constants.Contains(t)))
            {
                lastUse[t] = i;
                uses[t] = uses.GetValueOrDefault(t) + 1;
            }
            foreach (var o in nodes[i].Output) producer[o] = i;
        }
        foreach (var o in graph.Output) lastUse[o.Name!] = n;
        // Shape-only consumers (Shape → Gather → Reshape) do not keep a tensor alive as data.
        var cut = new bool[n];
        var live = new int[n + 1];
        foreach (var (t, p) in producer)
            if (lastUse.TryGetValue(t, out var last))
                for (int i = Math.Max(p, 0); i < last && i < n; i++) live[i]++;
        for (int i = 0; i < n; i++) cut[i] = live[i] == 1;

        int headStart = HeadStart(nodes);
        bool isDepthwise = IsDepthwiseNet(nodes, graph, out var depthwise);
        int depthwiseCount = depthwise.Count;
        var starts = isDepthwise
            ? DepthwiseStarts(nodes, graph, cut, depthwise, headStart)
            : ResidualStarts(nodes, cut, uses, headStart);
        starts = [.. starts.Where(s => s > 0 && s < n).Distinct().Order()];
        var blocks = new List<BackboneBlock>();
        int from = 0;
        var bounds = starts.Append(n).ToList();
        for (int b = 0; b < bounds.Count; b++)
        {
            int to = bounds[b];
            if (to <= from) continue;
            string name = from == 0 ? "stem" : from >= headStart && headStart < n ? "head"
                : to == headStart && isDepthwise && blocks.Count > depthwiseCount ? "last_conv" : $"block{blocks.Count}";
            blocks.Add(new BackboneBlock(name, [.. nodes.Skip(from).Take(to - from)]));
            from = to;
        }
        return blocks;
    }

    // The classifier part: from the global pooling on (everything after the last convolution).
    private static int HeadStart(IReadOnlyList<NodeProto> nodes)
    {
        int lastConv = -1;
        for (int i = 0; i < nodes.Count; i++) if (nodes[i].OpType == "Conv") lastConv = i;
        for (int i = lastConv + 1; i < nodes.Count; i++)
            if (nodes[i].OpType is "GlobalAveragePool" or "ReduceMean" or "Flatten" or "Gemm" or "MatMul" or "AveragePool") return i;
        return nodes.Count;
    }

    private static bool IsDepthwiseNet(IReadOnlyList<NodeProto> nodes, GraphProto graph, out List<int> depthwise)
    {
        depthwise = [];
        for (int i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (node.OpType != "Conv" || node.GetInt("group", 1) <= 1) continue;
            var w = graph.FindInitializer(node.Input[1]);
            if (w is null || (w.Dims.Count == 4 && w.Dims[1] == 1)) depthwise.Add(i);
        }
        return depthwise.Count >= 2;
    }

    private static bool IsPointwise(NodeProto node, GraphProto graph) =>
        node.OpType == "Conv" && (node.GetInts("kernel_shape") is { } k ? k.All(v => v == 1)
            : graph.FindInitializer(node.Input[1]) is { Dims.Count: 4 } w && w.Dims[2] == 1 && w.Dims[3] == 1);

    private static int LastCutBefore(bool[] cut, int index, int floor)
    {
        for (int i = index - 1; i >= floor; i--) if (cut[i]) return i + 1;
        return -1;
    }

    private static List<int> DepthwiseStarts(IReadOnlyList<NodeProto> nodes, GraphProto graph, bool[] cut, List<int> dws, int headStart)
    {
        var convs = Enumerable.Range(0, nodes.Count).Where(i => nodes[i].OpType == "Conv").ToList();
        var starts = new List<int>();
        int floor = 0;
        for (int j = 0; j < dws.Count; j++)
        {
            int d = dws[j];
            int prev = convs.LastOrDefault(c => c < d, -1);
            int previousBlockProjection = j == 0 ? -1 : convs.FirstOrDefault(c => c > dws[j - 1], -1);
            bool expansion = prev >= 0 && prev > previousBlockProjection && IsPointwise(nodes[prev], graph) && (j > 0 || prev != convs[0]);
            int start = LastCutBefore(cut, expansion ? prev : d, floor);
            if (start > 0) { starts.Add(start); floor = start; }
        }
        // After the last block's projection conv: a final 1×1 conv (MobileNetV2's 1280-wide layer) is its own block.
        int projection = convs.FirstOrDefault(c => c > dws[^1], -1);
        int last = convs.FirstOrDefault(c => c > projection, -1);
        if (projection >= 0 && last >= 0 && last < headStart && LastCutBefore(cut, last, floor) is var s && s > 0) starts.Add(s);
        if (headStart < nodes.Count && LastCutBefore(cut, headStart + 1, floor) is var h && h > 0) starts.Add(h);
        return starts;
    }

    private static List<int> ResidualStarts(IReadOnlyList<NodeProto> nodes, bool[] cut, Dictionary<string, int> uses, int headStart)
    {
        var starts = new List<int>();
        bool sawAdd = false;
        for (int i = 0; i < nodes.Count - 1; i++)
        {
            if (nodes[i].OpType == "Add") sawAdd = true;
            if (!cut[i] || i + 1 >= headStart) continue;
            var output = nodes[i].Output[0];
            // A tensor read twice (conv branch + skip) starts a residual unit; an Add closes one.
            bool next = nodes[i + 1].OpType is not ("Relu" or "Clip" or "BatchNormalization");
            if ((uses.GetValueOrDefault(output) >= 2 || sawAdd) && next)
            {
                starts.Add(i + 1);
                sawAdd = false;
            }
        }
        if (headStart < nodes.Count) starts.Add(headStart);
        return starts;
    }
}
