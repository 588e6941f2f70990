using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Onnx;

/// <summary>
/// Rewrites a QOperator int8 model into its fp32 twin: each QLinear op becomes the float op with dequantized weights
/// ((w − zero point) × scale; int32 bias × input scale × weight scale), Quantize/DequantizeLinear become pass-through,
/// and every tensor that was quantized is clipped to the range its uint8/int8 encoding could represent. That clip is
/// essential: the int8 model's ReLU/ReLU6 exist only as those ranges. What the twin drops is rounding to the 256 levels.
/// </summary>
internal static class OnnxDequantizer
{
    /// <summary>True when the model has quantized operators.</summary>
    public static bool IsQuantized(OnnxModel model) =>
        model.Graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear" || (n.OpType ?? "").StartsWith("QLinear", StringComparison.Ordinal));

    /// <summary>Returns a new fp32 model (the input is not modified).</summary>
    /// <exception cref="NotSupportedException">A quantized op this rewrite does not know, naming the node.</exception>
    public static OnnxModel ToFloat(OnnxModel quantized)
    {
        var model = OnnxModel.Parse(quantized.ToByteArray(), quantized.Source + " (fp32 twin)");
        var g = model.Graph;
        var init = g.Initializer.ToDictionary(t => t.Name!);
        var nodes = new List<NodeProto>();
        foreach (var n in g.Node)
        {
            switch (n.OpType)
            {
                case "QuantizeLinear":
                    nodes.Add(Clip(g, n.Input[0], n.Output[0], init, n.Input[1], n.Input.ElementAtOrDefault(2), n));
                    break;
                case "DequantizeLinear":
                    nodes.Add(NodeProto.Create("Identity", [n.Input[0]], [n.Output[0]], n.Name));
                    break;
                case "QLinearConv":
                {
                    // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [B]
                    string raw = n.Output[0] + "_float";
                    var w = Dequantize(init, n.Input[3], n.Input[4], n.Input[5], n, axis: 0);
                    g.Initializer.Add(w);
                    var inputs = new List<string> { n.Input[0], w.Name! };
                    if (n.Input.Count > 8 && n.Input[8].Length > 0)
                    {
                        var bias = DequantizeBias(init, n.Input[8], n.Input[1], n.Input[4], n);
                        g.Initializer.Add(bias);
                        inputs.Add(bias.Name!);
                    }
                    var conv = NodeProto.Create("Conv", inputs, [raw], n.Name, null, [.. n.Attribute]);
                    nodes.Add(conv);
                    nodes.Add(Clip(g, raw, n.Output[0], init, n.Input[6], n.Input[7], n));
                    break;
                }
                case "QLinearAdd":
                {
                    // A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp
                    string raw = n.Output[0] + "_float";
                    // A constant operand (e.g. a classifier bias) is stored quantized: dequantize it once.
                    string a = Operand(g, init, n.Input[0], n.Input[1], n.Input[2], n);
                    string b = Operand(g, init, n.Input[3], n.Input[4], n.Input[5], n);
                    nodes.Add(NodeProto.Create("Add", [a, b], [raw], n.Name));
                    nodes.Add(Clip(g, raw, n.Output[0], init, n.Input[6], n.Input[7], n));
                    break;
                }
                case "QLinearGlobalAveragePool":
                {
                    if (n.GetInt("channels_last", 0) != 0) throw new NotSupportedException($"{n.Label}: channels_last QLinearGlobalAveragePool is not supported.");
                    string raw = n.Output[0] + "_float";
                    nodes.Add(NodeProto.Create("GlobalAveragePool", [n.Input[0]], [raw], n.Name));
                    nodes.Add(Clip(g, raw, n.Output[0], init, n.Input[3], n.Input[4], n));
                    break;
                }
                case "QLinearMatMul":
                {
                    // a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
                    string raw = n.Output[0] + "_float";
                    var b = Dequantize(init, n.Input[3], n.Input[4], n.Input[5], n, axis: 1);
                    g.Initializer.Add(b);
                    nodes.Add(NodeProto.Create("MatMul", [n.Input[0], b.Name!], [raw], n.Name));
                    nodes.Add(Clip(g, raw, n.Output[0], init, n.Input[6], n.Input[7], n));
                    break;
                }
                default:
                    if ((n.OpType ?? "").StartsWith("QLinear", StringComparison.Ordinal) || n.OpType is "QGemm" or "ConvInteger" or "MatMulInteger")
                        throw new NotSupportedException($"{quantized.Source}: {n.Label}: quantized operator not supported by the fp32 rewrite.");
                    nodes.Add(n);
                    break;
            }
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        g.ValueInfo.Clear(); // element types changed from uint8 to float
        foreach (var o in g.Output)
            if (o.Type?.TensorType is { } t) t.ElemType = (int)OnnxDataType.Float;
        var used = g.Node.SelectMany(x => x.Input).ToHashSet();
        g.Initializer.RemoveAll(t => !used.Contains(t.Name!));
        g.Input.RemoveAll(i => init.ContainsKey(i.Name!) && !used.Contains(i.Name!));
        model.Proto.OpsetImport.RemoveAll(o => o.Domain == "com.microsoft");
        return model;
    }

    // Clip to what (q − zp)·scale can take for q in the tensor type's range.
    private static NodeProto Clip(GraphProto g, string input, string output, Dictionary<string, TensorProto> init, string scaleName, string? zpName, NodeProto origin)
    {
        float scale = Scalar(init, scaleName, origin);
        var zp = zpName is { Length: > 0 } && init.TryGetValue(zpName, out var z) ? z : null;
        long zero = zp is null ? 0 : zp.ToInt64Array()[0];
        bool signed = zp?.ElementType == OnnxDataType.Int8;
        float lo = ((signed ? -128 : 0) - zero) * scale, hi = ((signed ? 127 : 255) - zero) * scale;
        var name = output + "_range";
        g.Initializer.Add(TensorProto.FromFloats(name + "_min", [], [lo]));
        g.Initializer.Add(TensorProto.FromFloats(name + "_max", [], [hi]));
        return NodeProto.Create("Clip", [input, name + "_min", name + "_max"], [output], output + "_clip");
    }

    private static TensorProto Dequantize(Dictionary<string, TensorProto> init, string q, string scale, string zp, NodeProto origin, int axis)
    {
        var qt = Get(init, q, origin);
        var values = qt.ToInt64Array();
        var scales = Get(init, scale, origin).ToFloatArray();
        var zeros = init.TryGetValue(zp, out var z) ? z.ToInt64Array() : [0];
        var dims = qt.Dims.ToArray();
        var result = new float[values.Length];
        // Per-tensor (one scale) or per-channel along `axis` (conv: output channels = axis 0; matmul B [K,N]: axis 1).
        long inner = 1;
        for (int d = axis + 1; d < dims.Length; d++) inner *= dims[d];
        long channels = dims.Length > axis ? dims[axis] : 1;
        for (long i = 0; i < values.Length; i++)
        {
            long c = scales.Length == 1 ? 0 : (i / inner) % channels;
            result[i] = (values[i] - zeros[zeros.Length == 1 ? 0 : c]) * scales[c];
        }
        return TensorProto.FromFloats(q + "_dequantized", dims, result);
    }

    private static string Operand(GraphProto g, Dictionary<string, TensorProto> init, string tensor, string scale, string zp, NodeProto origin)
    {
        if (!init.ContainsKey(tensor)) return tensor;
        var dequantized = Dequantize(init, tensor, scale, zp, origin, axis: 0);
        g.Initializer.Add(dequantized);
        return dequantized.Name!;
    }

    private static TensorProto DequantizeBias(Dictionary<string, TensorProto> init, string bias, string xScale, string wScale, NodeProto origin)
    {
        var b = Get(init, bias, origin).ToInt64Array();
        float xs = Scalar(init, xScale, origin);
        var ws = Get(init, wScale, origin).ToFloatArray();
        var result = new float[b.Length];
        for (int i = 0; i < b.Length; i++) result[i] = b[i] * xs * ws[ws.Length == 1 ? 0 : i];
        return TensorProto.FromFloats(bias + "_dequantized", [b.Length], result);
    }

    private static float Scalar(Dictionary<string, TensorProto> init, string name, NodeProto origin) => Get(init, name, origin).ToFloatArray()[0];

    private static TensorProto Get(Dictionary<string, TensorProto> init, string name, NodeProto origin) =>
        init.TryGetValue(name, out var t) ? t
            : throw new NotSupportedException($"{origin.Label}: quantization parameter '{name}' is computed, not a constant; only constant scales and zero points are supported.");
}
