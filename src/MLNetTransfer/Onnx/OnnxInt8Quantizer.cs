using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Onnx;

/// <summary>
/// Static int8 quantization of a float convolutional network in ONNX's QDQ form: weights int8 per output channel
/// (symmetric), activations uint8 per tensor with ranges measured beforehand on calibration images. ONNX Runtime (graph
/// optimization level extended or higher) fuses each DequantizeLinear → Conv → QuantizeLinear group into QLinearConv
/// and each quantized Add into QLinearAdd, which run on the CPU's int8 dot-product instructions.
/// <para>
/// Quantized are the data inputs of every Conv and the inputs and output of every Add: the tensors that stay uint8 between
/// the int8 kernels. A ReLU right after a Conv or Add is dropped and its output quantized with zero point 0, which clamps
/// negatives exactly as the ReLU did. Every other operator (pooling, flatten, concat, the embedding head) keeps reading the
/// float tensor of the original name, produced by a DequantizeLinear, so later graph edits work as on the float graph.
/// BatchNormalization after a Conv is folded into its weights first (<see cref="FoldBatchNormalization"/>).
/// </para>
/// </summary>
internal static class OnnxInt8Quantizer
{
    /// <summary>
    /// Folds each BatchNormalization whose input is a Conv used by nothing else into that Conv's weights and bias (the
    /// inference form: y = γ(x − μ)/√(σ² + ε) + β). The Conv then produces the BatchNormalization's output name.
    /// </summary>
    /// <returns>How many were folded.</returns>
    public static int FoldBatchNormalization(OnnxModel model)
    {
        var g = model.Graph;
        var init = g.Initializer.ToDictionary(t => t.Name!);
        var consumers = Consumers(g);
        int folded = 0;
        foreach (var bn in g.Node.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            var conv = g.Node.FirstOrDefault(n => n.OpType == "Conv" && n.Output[0] == bn.Input[0]);
            if (conv is null || consumers[conv.Output[0]].Count != 1 || IsGraphOutput(g, conv.Output[0])) continue;
            if (!init.TryGetValue(conv.Input[1], out var weight) || bn.Input.Skip(1).Any(i => !init.ContainsKey(i))) continue;
            float[] gamma = init[bn.Input[1]].ToFloatArray(), beta = init[bn.Input[2]].ToFloatArray();
            float[] mean = init[bn.Input[3]].ToFloatArray(), variance = init[bn.Input[4]].ToFloatArray();
            float epsilon = bn.GetFloat("epsilon", 1e-5f);
            var w = weight.ToFloatArray();
            int outChannels = (int)weight.Dims[0], perChannel = w.Length / outChannels;
            var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? init[conv.Input[2]].ToFloatArray() : new float[outChannels];
            var foldedWeight = new float[w.Length];
            var foldedBias = new float[outChannels];
            for (int c = 0; c < outChannels; c++)
            {
                float s = gamma[c] / MathF.Sqrt(variance[c] + epsilon);
                for (int i = 0; i < perChannel; i++) foldedWeight[c * perChannel + i] = w[c * perChannel + i] * s;
                foldedBias[c] = (bias[c] - mean[c]) * s + beta[c];
            }
            string stem = bn.Output[0];
            var wt = TensorProto.FromFloats(stem + "_folded_w", [.. weight.Dims], foldedWeight);
            var bt = TensorProto.FromFloats(stem + "_folded_b", [outChannels], foldedBias);
            g.Initializer.Add(wt);
            g.Initializer.Add(bt);
            conv.Input[1] = wt.Name!;
            if (conv.Input.Count > 2) conv.Input[2] = bt.Name!; else conv.Input.Add(bt.Name!);
            conv.Output[0] = bn.Output[0];
            g.Node.Remove(bn);
            folded++;
        }
        RemoveUnusedInitializers(g);
        return folded;
    }

    /// <summary>
    /// The tensors whose ranges <see cref="Quantize"/> needs, in graph order: each Conv's data input, each Add's inputs and
    /// output, where a ReLU directly after a Conv or Add stands for its producer (its output is named instead).
    /// Call after <see cref="FoldBatchNormalization"/>.
    /// </summary>
    public static IReadOnlyList<string> CalibrationTensors(OnnxModel model)
    {
        var g = model.Graph;
        var points = new List<string>();
        void Add(string tensor) { if (!points.Contains(tensor)) points.Add(tensor); }
        var fusedRelu = FusedRelus(g);
        foreach (var n in g.Node)
        {
            if (n.OpType == "Conv") { Add(n.Input[0]); Add(OutputAfterRelu(n, fusedRelu)); }
            else if (n.OpType == "Add") { Add(n.Input[0]); Add(n.Input[1]); Add(OutputAfterRelu(n, fusedRelu)); }
        }
        return points;
    }

    /// <summary>
    /// Rewrites <paramref name="model"/> in place into QDQ int8 form. <paramref name="ranges"/> holds the range of every
    /// tensor of <see cref="CalibrationTensors"/>; a MaxPool output takes its input's parameters whatever its own range
    /// (max commutes with the uint8 encoding, and equal parameters let ONNX Runtime pool the uint8 values directly).
    /// </summary>
    /// <exception cref="ArgumentException">A tensor that must be quantized has no range (the message names it).</exception>
    public static void Quantize(OnnxModel model, IReadOnlyDictionary<string, ActivationRange> ranges)
    {
        var g = model.Graph;
        var init = g.Initializer.ToDictionary(t => t.Name!);
        var fusedRelu = FusedRelus(g);
        var producers = new Dictionary<string, NodeProto>();
        foreach (var n in g.Node) foreach (var o in n.Output) producers[o] = n;

        // Quantization parameters per quantized tensor (by its float name).
        var parameters = new Dictionary<string, (string Scale, string ZeroPoint, float ScaleValue)>();
        (string Scale, string ZeroPoint, float ScaleValue) ParametersOf(string tensor)
        {
            if (parameters.TryGetValue(tensor, out var known)) return known;
            if (producers.TryGetValue(tensor, out var p) && p.OpType == "MaxPool" && ranges.ContainsKey(p.Input[0]))
                return parameters[tensor] = ParametersOf(p.Input[0]);
            (float lo, float hi) = ranges.TryGetValue(tensor, out var r) ? (r.Min, r.Max)
                : throw new ArgumentException($"{model.Source}: no calibration range for tensor '{tensor}'.");
            lo = Math.Min(lo, 0f);
            hi = Math.Max(hi, lo + 1e-6f);
            float scale = (hi - lo) / 255f;
            byte zeroPoint = (byte)Math.Clamp(MathF.Round(-lo / scale), 0, 255);
            string scaleName = tensor + "_q_scale", zpName = tensor + "_q_zero_point";
            g.Initializer.Add(TensorProto.FromFloats(scaleName, [], [scale]));
            g.Initializer.Add(TensorProto.FromRaw(zpName, OnnxDataType.Uint8, [], [zeroPoint]));
            return parameters[tensor] = (scaleName, zpName, scale);
        }

        var nodes = new List<NodeProto>();
        var dequantizers = new Dictionary<string, int>();
        string Dequantized(string tensor)
        {
            // One DequantizeLinear per int8 consumer, so each fused group owns its input (ONNX Runtime's QDQ rule).
            var (scale, zp, _) = ParametersOf(tensor);
            dequantizers.TryGetValue(tensor, out int k);
            dequantizers[tensor] = k + 1;
            string output = $"{tensor}_dq{k}";
            nodes.Add(NodeProto.Create("DequantizeLinear", [tensor + "_q", scale, zp], [output], output));
            return output;
        }
        void Quantized(string floatTensor, string tensor, bool keepFloatName)
        {
            var (scale, zp, _) = ParametersOf(tensor);
            nodes.Add(NodeProto.Create("QuantizeLinear", [floatTensor, scale, zp], [tensor + "_q"], tensor + "_quantize"));
            // The float tensor of the original name, for every non-int8 reader (pooling, the embedding, graph edits).
            if (keepFloatName)
                nodes.Add(NodeProto.Create("DequantizeLinear", [tensor + "_q", scale, zp], [tensor], tensor + "_dequantize"));
        }

        var quantized = new HashSet<string>();
        foreach (var n in g.Node.ToList())
        {
            if (fusedRelu.Contains(n)) continue; // its clamp is the zero-point-0 QuantizeLinear of its producer
            if (n.OpType is not ("Conv" or "Add")) { nodes.Add(n); continue; }
            string dataInput = n.Input[0];
            for (int i = 0; i < (n.OpType == "Conv" ? 1 : 2); i++)
            {
                // A tensor no Conv/Add produced (the graph input, a MaxPool output) is quantized where an int8 op first reads it.
                if (quantized.Add(n.Input[i])) Quantized(n.Input[i], n.Input[i], keepFloatName: false);
                n.Input[i] = Dequantized(n.Input[i]);
            }
            if (n.OpType == "Conv") nodes.AddRange(QuantizeWeights(g, init, n, ParametersOf(dataInput).ScaleValue));
            string output = OutputAfterRelu(n, fusedRelu);
            n.Output[0] = output + "_float";
            nodes.Add(n);
            quantized.Add(output);
            Quantized(n.Output[0], output, keepFloatName: true);
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        g.ValueInfo.Clear();
        RemoveUnusedInitializers(g);
    }

    // Conv weights int8 per output channel (symmetric, zero point 0); bias int32 at scale x_scale·w_scale (zero point 0),
    // the form ONNX Runtime's QLinearConv fusion expects.
    private static List<NodeProto> QuantizeWeights(GraphProto g, Dictionary<string, TensorProto> init, NodeProto conv, float inputScale)
    {
        var weight = init.TryGetValue(conv.Input[1], out var wt) ? wt
            : throw new ArgumentException($"{conv.Label}: the weight '{conv.Input[1]}' is computed, not a constant; it cannot be quantized.");
        var w = weight.ToFloatArray();
        int outChannels = (int)weight.Dims[0], perChannel = w.Length / outChannels;
        var q = new byte[w.Length];
        var scales = new float[outChannels];
        for (int c = 0; c < outChannels; c++)
        {
            float max = 0;
            for (int i = 0; i < perChannel; i++) max = Math.Max(max, MathF.Abs(w[c * perChannel + i]));
            scales[c] = max > 0 ? max / 127f : 1f;
            for (int i = 0; i < perChannel; i++)
                q[c * perChannel + i] = (byte)(sbyte)Math.Clamp(MathF.Round(w[c * perChannel + i] / scales[c]), -127, 127);
        }
        string stem = conv.Input[1];
        g.Initializer.Add(TensorProto.FromRaw(stem + "_int8", OnnxDataType.Int8, [.. weight.Dims], q));
        g.Initializer.Add(TensorProto.FromFloats(stem + "_int8_scale", [outChannels], scales));
        g.Initializer.Add(TensorProto.FromRaw(stem + "_int8_zero_point", OnnxDataType.Int8, [outChannels], new byte[outChannels]));
        var wName = stem + "_dequantized";
        var node = NodeProto.Create("DequantizeLinear", [stem + "_int8", stem + "_int8_scale", stem + "_int8_zero_point"], [wName], wName, null, AttributeProto.Int("axis", 0));
        conv.Input[1] = wName;
        var pending = new List<NodeProto> { node };
        if (conv.Input.Count > 2 && conv.Input[2].Length > 0)
        {
            var b = init[conv.Input[2]].ToFloatArray();
            var bq = new int[outChannels];
            var bScales = new float[outChannels];
            for (int c = 0; c < outChannels; c++)
            {
                bScales[c] = inputScale * scales[c];
                bq[c] = (int)Math.Clamp(Math.Round(b[c] / bScales[c]), int.MinValue, int.MaxValue);
            }
            string bStem = conv.Input[2];
            g.Initializer.Add(TensorProto.FromRaw(bStem + "_int32", OnnxDataType.Int32, [outChannels], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bq.AsSpan()).ToArray()));
            g.Initializer.Add(TensorProto.FromFloats(bStem + "_int32_scale", [outChannels], bScales));
            g.Initializer.Add(TensorProto.FromRaw(bStem + "_int32_zero_point", OnnxDataType.Int32, [outChannels], new byte[4 * outChannels]));
            var bName = bStem + "_dequantized";
            pending.Add(NodeProto.Create("DequantizeLinear", [bStem + "_int32", bStem + "_int32_scale", bStem + "_int32_zero_point"], [bName], bName, null, AttributeProto.Int("axis", 0)));
            conv.Input[2] = bName;
        }
        return pending;
    }

    // ReLUs that directly follow a Conv or Add used by nothing else: dropped, their clamp done by the zero-point-0 Q.
    private static HashSet<NodeProto> FusedRelus(GraphProto g)
    {
        var consumers = Consumers(g);
        var producers = new Dictionary<string, NodeProto>();
        foreach (var n in g.Node) foreach (var o in n.Output) producers[o] = n;
        return [.. g.Node.Where(n => n.OpType == "Relu" && producers.TryGetValue(n.Input[0], out var p) && p.OpType is "Conv" or "Add"
            && consumers[n.Input[0]].Count == 1 && !IsGraphOutput(g, n.Input[0]))];
    }

    private static string OutputAfterRelu(NodeProto n, HashSet<NodeProto> fusedRelu) =>
        fusedRelu.FirstOrDefault(r => r.Input[0] == n.Output[0])?.Output[0] ?? n.Output[0];

    private static Dictionary<string, List<NodeProto>> Consumers(GraphProto g)
    {
        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var n in g.Node)
            foreach (var o in n.Output) consumers.TryAdd(o, []);
        foreach (var n in g.Node)
            foreach (var i in n.Input)
                if (consumers.TryGetValue(i, out var list)) list.Add(n);
        return consumers;
    }

    private static bool IsGraphOutput(GraphProto g, string tensor) => g.Output.Any(o => o.Name == tensor);

    private static void RemoveUnusedInitializers(GraphProto g)
    {
        var used = g.Node.SelectMany(n => n.Input).ToHashSet();
        g.Initializer.RemoveAll(t => !used.Contains(t.Name!));
    }
}
