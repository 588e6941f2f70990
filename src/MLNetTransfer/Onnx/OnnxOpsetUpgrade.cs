using MLNetTransfer.Onnx.Proto;

namespace MLNetTransfer.Onnx;

/// <summary>
/// Raises a graph's default-domain opset (e.g. a CNTK export at opset 8) so that edits needing newer operators — Resize
/// with sizes (11), Gather-based channel reorder, opset-13 Squeeze — can be appended. Each operator whose signature
/// changed on the way is rewritten to the same computation in the new form; an operator this converter cannot rewrite
/// is refused with its node named rather than left with the wrong meaning.
/// </summary>
internal static class OnnxOpsetUpgrade
{
    /// <summary>The opset backbones are raised to before editing: the lowest with everything the edits use.</summary>
    public const int EditingOpset = 13;

    /// <summary>
    /// Rewrites <paramref name="model"/> in place to opset <paramref name="target"/> (no-op when already there). Also
    /// removes initializers from the graph inputs (allowed from IR 4), so ONNX Runtime treats weights as constants and
    /// folds BatchNormalization into the convolutions.
    /// </summary>
    /// <exception cref="OnnxFormatException">An operator changed meaning between the two opsets in a way not converted here.</exception>
    public static void Upgrade(OnnxModel model, int target = EditingOpset)
    {
        int current = model.OpsetVersion();
        if (current >= target) return;
        var g = model.Graph;
        foreach (var n in g.Node.ToList())
        {
            if (!string.IsNullOrEmpty(n.Domain) && n.Domain != "ai.onnx") continue;
            switch (n.OpType)
            {
                case "BatchNormalization":
                    // Opset 9 dropped `spatial` (1 = per-channel statistics, the only meaning kept); 7 dropped `is_test`; 6 `consumed_inputs`.
                    if (n.FindAttribute("spatial") is { } spatial)
                    {
                        if (spatial.I != 1) throw Refuse(model, n, current, target, "spatial=0 (per-activation statistics) has no opset-9+ form");
                        n.Attribute.Remove(spatial);
                    }
                    n.Attribute.RemoveAll(a => a.Name is "is_test" or "consumed_inputs");
                    n.Output.RemoveRange(1, n.Output.Count - 1); // training-only outputs
                    break;
                case "Squeeze" or "Unsqueeze" or "ReduceSum" when current < 13 && target >= 13:
                    AttributeToInput(g, n, "axes", index: 1);
                    break;
                case "Split" when current < 13 && target >= 13:
                    AttributeToInput(g, n, "split", index: 1);
                    break;
                case "Slice" when current < 10:
                    var starts = Take(n, "starts");
                    var ends = Take(n, "ends");
                    var axes = Take(n, "axes");
                    n.Input.Add(Int64Constant(g, n, "starts", starts!));
                    n.Input.Add(Int64Constant(g, n, "ends", ends!));
                    if (axes is not null) n.Input.Add(Int64Constant(g, n, "axes", axes));
                    break;
                case "Pad" when current < 11:
                    n.Input.Add(Int64Constant(g, n, "pads", Take(n, "pads") ?? []));
                    var value = n.FindAttribute("value");
                    if (value is not null)
                    {
                        n.Attribute.Remove(value);
                        n.Input.Add(FloatConstant(g, n, "value", value.F));
                    }
                    break;
                case "Clip" when current < 11:
                    var min = n.FindAttribute("min");
                    var max = n.FindAttribute("max");
                    n.Attribute.RemoveAll(a => a.Name is "min" or "max");
                    n.Input.Add(min is null ? "" : FloatConstant(g, n, "min", min.HasF ? min.F : float.MinValue));
                    n.Input.Add(max is null ? "" : FloatConstant(g, n, "max", max.HasF ? max.F : float.MaxValue));
                    break;
                case "Dropout":
                    // Inference only: from opset 12 the ratio is an input and training is off by default, i.e. identity.
                    n.Attribute.RemoveAll(a => a.Name is "ratio" or "is_test");
                    break;
                case "Softmax" or "LogSoftmax" or "Hardmax" when current < 13 && target >= 13:
                    CoercedSoftmax(g, n);
                    break;
                case "Upsample" or "Resize" or "Scan" or "If" or "Loop" or "TopK" when current < 11:
                    throw Refuse(model, n, current, target, "its inputs or rounding changed");
            }
        }
        var initializers = g.Initializer.Select(t => t.Name).ToHashSet();
        g.Input.RemoveAll(i => initializers.Contains(i.Name));
        var opset = model.Proto.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx");
        if (opset is null) model.Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = target });
        else opset.Version = target;
        model.Proto.IrVersion = Math.Max(model.Proto.IrVersion, 7);
    }

    /// <summary>
    /// Turns an AveragePool whose window covers its whole input at the model's declared input size (CNTK's 7×7 pooling of
    /// ResNet's last 7×7 map) into GlobalAveragePool: the same numbers at that size, and valid at any other input size.
    /// Needs the declared intermediate shapes (value_info); returns how many nodes changed.
    /// </summary>
    public static int GlobalizeWholeMapPooling(OnnxModel model)
    {
        var g = model.Graph;
        var shapes = g.ValueInfo.Where(v => v.Type?.TensorType?.Shape is not null)
            .ToDictionary(v => v.Name!, v => v.Type!.TensorType!.Shape!.Dim.Select(d => d.Size).ToArray());
        int changed = 0;
        foreach (var n in g.Node.Where(n => n.OpType == "AveragePool"))
        {
            if (!shapes.TryGetValue(n.Input[0], out var dims) || dims.Length != 4) continue;
            var kernel = n.GetInts("kernel_shape");
            bool noPads = (n.GetInts("pads") ?? [0, 0, 0, 0]).All(p => p == 0) && n.GetString("auto_pad", "NOTSET") is "NOTSET" or "VALID" or "";
            if (kernel is not [var kh, var kw] || dims[2] != kh || dims[3] != kw || !noPads) continue;
            n.OpType = "GlobalAveragePool";
            n.Attribute.Clear();
            changed++;
        }
        return changed;
    }

    private static OnnxFormatException Refuse(OnnxModel model, NodeProto n, int from, int to, string why) =>
        new($"{model.Source}: cannot raise opset {from} to {to}: {n.Label}: {why}.");

    private static long[]? Take(NodeProto n, string attribute)
    {
        var a = n.FindAttribute(attribute);
        if (a is null) return null;
        n.Attribute.Remove(a);
        return [.. a.Ints];
    }

    private static void AttributeToInput(GraphProto g, NodeProto n, string attribute, int index)
    {
        if (Take(n, attribute) is not { } values) return;
        while (n.Input.Count < index) n.Input.Add("");
        n.Input.Insert(index, Int64Constant(g, n, attribute, values));
    }

    private static string Int64Constant(GraphProto g, NodeProto n, string what, long[] values)
    {
        var name = $"{n.Name ?? n.Output[0]}_{what}";
        g.Initializer.Add(TensorProto.FromInt64s(name, [values.Length], values));
        return name;
    }

    private static string FloatConstant(GraphProto g, NodeProto n, string what, float value)
    {
        var name = $"{n.Name ?? n.Output[0]}_{what}";
        g.Initializer.Add(TensorProto.FromFloats(name, [], [value]));
        return name;
    }

    // Before opset 13 these flattened the input to 2-D at `axis` (default 1) and normalized the second dimension; from 13
    // they normalize one axis. Flatten → op(axis 1) → Reshape back to the input's shape keeps the old meaning exactly.
    private static void CoercedSoftmax(GraphProto g, NodeProto n)
    {
        long axis = n.GetInt("axis", 1);
        string input = n.Input[0], output = n.Output[0], stem = n.Name ?? output;
        var flatten = NodeProto.Create("Flatten", [input], [$"{stem}_2d"], $"{stem}_flatten", null, AttributeProto.Int("axis", axis));
        var shape = NodeProto.Create("Shape", [input], [$"{stem}_shape"], $"{stem}_shape");
        var reshape = NodeProto.Create("Reshape", [$"{stem}_normalized", $"{stem}_shape"], [output], $"{stem}_reshape");
        n.Attribute.RemoveAll(a => a.Name == "axis");
        n.Attribute.Add(AttributeProto.Int("axis", 1));
        n.Input[0] = $"{stem}_2d";
        n.Output[0] = $"{stem}_normalized";
        int at = g.Node.IndexOf(n);
        g.Node.Insert(at, shape);
        g.Node.Insert(at, flatten);
        g.Node.Insert(at + 3, reshape);
    }
}
