using MLNetTransfer.Onnx.Proto;

namespace MLNetTransfer.Onnx;

internal static partial class OnnxGraphEdits
{
    /// <summary>
    /// Test-time flip averaging inside the graph: the batch entering through <paramref name="inputName"/> (NCHW) is run
    /// together with its left-right mirror (Concat on the batch axis), and <paramref name="outputName"/> ([2N, D]) becomes
    /// the mean of each image's two rows ([N, D]). Flipping before any resize is exact: bilinear half-pixel resizing
    /// commutes with a horizontal flip. Doubles the backbone's work; saved ML.NET models keep it, since it is in the graph.
    /// </summary>
    /// <exception cref="OnnxFormatException">Opset below 10 (no Slice with steps).</exception>
    public static void AddFlipAveraging(OnnxModel model, string inputName, string outputName)
    {
        if (model.OpsetVersion() < 10)
            throw new OnnxFormatException($"{model.Source}: opset {model.OpsetVersion()} predates Slice with steps (10); flip averaging needs it.");
        var g = model.Graph;
        if (g.Input.All(i => i.Name != inputName)) throw new ArgumentException($"{model.Source}: no graph input named '{inputName}'.");
        var output = g.Output.FirstOrDefault(o => o.Name == outputName)
            ?? throw new ArgumentException($"{model.Source}: not a graph output: '{outputName}'.");
        long dimension = output.Type?.TensorType?.Shape?.Dim.ElementAtOrDefault(1)?.Size
            ?? throw new ArgumentException($"{model.Source}: output '{outputName}' needs a known width [N, D].");

        // Input side: everything that read the input now reads [x; flip(x)].
        string p = inputName, both = $"{p}_with_mirror";
        foreach (var node in g.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == p) node.Input[i] = both;
        g.Initializer.Add(TensorProto.FromInt64s($"{p}_flip_start", [1], [-1]));
        g.Initializer.Add(TensorProto.FromInt64s($"{p}_flip_end", [1], [long.MinValue]));
        g.Initializer.Add(TensorProto.FromInt64s($"{p}_flip_axis", [1], [3]));
        g.Initializer.Add(TensorProto.FromInt64s($"{p}_flip_step", [1], [-1]));
        g.Node.InsertRange(0,
        [
            NodeProto.Create("Slice", [p, $"{p}_flip_start", $"{p}_flip_end", $"{p}_flip_axis", $"{p}_flip_step"], [$"{p}_mirror"], $"{p}_mirror"),
            NodeProto.Create("Concat", [p, $"{p}_mirror"], [both], $"{p}_with_mirror", null, AttributeProto.Int("axis", 0)),
        ]);

        // Output side: [2N, D] → [2, N, D] → row 0 + row 1, halved. Gather and Reshape keep the same form in every opset.
        string o = outputName, pairs = $"{o}_of_both";
        foreach (var node in g.Node)
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == o) node.Output[i] = pairs;
        g.Initializer.Add(TensorProto.FromInt64s($"{o}_pair_shape", [3], [2, -1, dimension]));
        g.Initializer.Add(TensorProto.FromInt64s($"{o}_first", [], [0]));
        g.Initializer.Add(TensorProto.FromInt64s($"{o}_second", [], [1]));
        g.Initializer.Add(TensorProto.FromFloats($"{o}_half", [], [0.5f]));
        g.Node.AddRange(
        [
            NodeProto.Create("Reshape", [pairs, $"{o}_pair_shape"], [$"{o}_pairs"], $"{o}_pairs"),
            NodeProto.Create("Gather", [$"{o}_pairs", $"{o}_first"], [$"{o}_original"], $"{o}_original", null, AttributeProto.Int("axis", 0)),
            NodeProto.Create("Gather", [$"{o}_pairs", $"{o}_second"], [$"{o}_mirrored"], $"{o}_mirrored", null, AttributeProto.Int("axis", 0)),
            NodeProto.Create("Add", [$"{o}_original", $"{o}_mirrored"], [$"{o}_sum"], $"{o}_sum"),
            NodeProto.Create("Mul", [$"{o}_sum", $"{o}_half"], [o], $"{o}_mean"),
        ]);
    }
}
