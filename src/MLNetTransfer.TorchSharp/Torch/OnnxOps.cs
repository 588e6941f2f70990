using MLNetTransfer.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Torch;

/// <summary>An ONNX operator this importer cannot run; raised at import, naming the op and the node.</summary>
public sealed class UnsupportedOperatorException(string message) : NotSupportedException(message);

/// <summary>ONNX operators as TorchSharp calls. Inputs arrive as tensors (float activations, int64 shapes/indices).</summary>
internal static class OnnxOps
{
    public delegate Tensor[] Op(NodeProto node, Tensor?[] inputs, OpContext context);

    /// <summary>What an op may need beyond its inputs.</summary>
    /// <param name="Training">The module is in training mode.</param>
    /// <param name="Opset">Default-domain opset of the model.</param>
    /// <param name="NodeFrozen">The node belongs to a frozen block (BatchNorm keeps its running statistics).</param>
    /// <param name="MayOverwriteInput">
    /// The first input is a fresh result that nothing else reads, so an elementwise op may write its result over it
    /// (see <see cref="OverwritableProducers"/>).
    /// </param>
    public sealed record OpContext(bool Training, int Opset, bool NodeFrozen, bool MayOverwriteInput = false);

    /// <summary>
    /// Ops whose output is a new tensor (never a view of an input) and whose backward does not read that output, so
    /// a single reader may overwrite it in place: torchvision's ResNet does the same with <c>ReLU(inplace=True)</c> and
    /// <c>out += identity</c>. It saves one activation-sized allocation and write per ReLU, Clip and Add.
    /// </summary>
    public static readonly IReadOnlySet<string> OverwritableProducers = new HashSet<string> { "Conv", "BatchNormalization", "Add" };

    /// <summary>Ops that can write their result over their first input when <see cref="OpContext.MayOverwriteInput"/> is set.</summary>
    public static readonly IReadOnlySet<string> InPlaceCapable = new HashSet<string> { "Relu", "Clip", "Add" };

    public static readonly IReadOnlyDictionary<string, Op> All = new Dictionary<string, Op>
    {
        ["Conv"] = Conv,
        ["BatchNormalization"] = BatchNorm,
        ["Relu"] = (n, x, c) => [c.MayOverwriteInput ? x[0]!.relu_() : F.relu(x[0]!)],
        ["Clip"] = Clip,
        ["Sigmoid"] = (n, x, c) => [torch.sigmoid(x[0]!)],
        ["HardSigmoid"] = (n, x, c) => [torch.clamp(x[0]! * n.GetFloat("alpha", 0.2f) + n.GetFloat("beta", 0.5f), 0.0, 1.0)],
        ["HardSwish"] = (n, x, c) => [F.hardswish(x[0]!)],
        ["Add"] = (n, x, c) => [c.MayOverwriteInput && x[0]!.shape.SequenceEqual(x[1]!.shape) ? x[0]!.add_(x[1]!) : x[0]! + x[1]!],
        ["Sub"] = (n, x, c) => [x[0]! - x[1]!],
        ["Mul"] = (n, x, c) => [x[0]! * x[1]!],
        ["Div"] = (n, x, c) => [x[0]!.dtype == ScalarType.Int64 ? x[0]!.div(x[1]!, RoundingMode.trunc) : x[0]! / x[1]!],
        ["GlobalAveragePool"] = (n, x, c) => [x[0]!.mean([2L, 3L], keepdim: true)],
        ["GlobalMaxPool"] = (n, x, c) => [x[0]!.amax([2L, 3L], keepdim: true)],
        ["AveragePool"] = AveragePool,
        ["MaxPool"] = MaxPool,
        ["Flatten"] = Flatten,
        ["Reshape"] = Reshape,
        ["Gemm"] = Gemm,
        ["MatMul"] = (n, x, c) => [torch.matmul(x[0]!, x[1]!)],
        ["Concat"] = (n, x, c) => [torch.cat(x.Where(t => t is not null).Select(t => t!).ToArray(), n.GetInt("axis", 0))],
        ["Pad"] = Pad,
        ["Softmax"] = (n, x, c) => [F.softmax(x[0]!, n.GetInt("axis", c.Opset >= 13 ? -1 : 1))],
        ["Dropout"] = (n, x, c) => [x[0]!.alias()],
        ["Identity"] = (n, x, c) => [x[0]!.alias()],
        ["ReduceMean"] = ReduceMean,
        ["Transpose"] = (n, x, c) => [x[0]!.permute(n.GetInts("perm") ?? [.. Enumerable.Range(0, (int)x[0]!.dim()).Reverse().Select(i => (long)i)])],
        ["Shape"] = (n, x, c) => [torch.tensor(x[0]!.shape, ScalarType.Int64)],
        ["Gather"] = Gather,
        ["Unsqueeze"] = Unsqueeze,
        ["Squeeze"] = Squeeze,
        ["Cast"] = Cast,
    };

    private static Tensor[] Conv(NodeProto n, Tensor?[] x, OpContext c)
    {
        var input = x[0]!;
        var w = x[1]!;
        long groups = n.GetInt("group", 1);
        var kernel = n.GetInts("kernel_shape") ?? [w.shape[2], w.shape[3]];
        var strides = n.GetInts("strides") ?? [1, 1];
        var dilations = n.GetInts("dilations") ?? [1, 1];
        var pads = Pads(n, input, kernel, strides, dilations);
        if (kernel.Length != 2) throw new UnsupportedOperatorException($"{n.Label}: only 2-D convolutions are supported.");
        if (pads[0] == pads[2] && pads[1] == pads[3])
            return [F.conv2d(input, w, x.ElementAtOrDefault(2), strides, [pads[0], pads[1]], dilations, groups)];
        if (SymmetricEquivalent(input, pads, kernel, strides, dilations) is { } symmetric)
            return [F.conv2d(input, w, x.ElementAtOrDefault(2), strides, symmetric, dilations, groups)];
        var padded = F.pad(input, [pads[1], pads[3], pads[0], pads[2]]);
        return [F.conv2d(padded, w, x.ElementAtOrDefault(2), strides, [0, 0], dilations, groups)];
    }

    // Pads [top, left, bottom, right] with less at the end than at the start (CNTK's stride-2 layers: [1, 1, 0, 0]) give
    // the same windows as the start pad on both sides whenever both produce the same output size: every window starts
    // at the same place, and the extra end rows are never reached. Then the op pads itself, and no padded copy of the
    // input is made (a copy, and its gradient, per stride-2 layer in training). Null when the sizes differ.
    private static long[]? SymmetricEquivalent(Tensor input, long[] pads, long[] kernel, long[] strides, long[] dilations)
    {
        var symmetric = new long[2];
        for (int d = 0; d < 2; d++)
        {
            long begin = pads[d], end = pads[d + 2], size = input.shape[2 + d], span = (kernel[d] - 1) * dilations[d] + 1;
            if (end > begin) return null;
            if ((size + 2 * begin - span) / strides[d] != (size + begin + end - span) / strides[d]) return null;
            symmetric[d] = begin;
        }
        return symmetric;
    }

    // ONNX pads are [top, left, bottom, right]; auto_pad SAME_* computes them like TensorFlow.
    private static long[] Pads(NodeProto n, Tensor input, long[] kernel, long[] strides, long[] dilations)
    {
        var auto = n.GetString("auto_pad", "NOTSET");
        if (auto is "NOTSET" or "") return n.GetInts("pads") ?? [0, 0, 0, 0];
        if (auto == "VALID") return [0, 0, 0, 0];
        var pads = new long[4];
        for (int d = 0; d < 2; d++)
        {
            long size = input.shape[2 + d];
            long output = (size + strides[d] - 1) / strides[d];
            long total = Math.Max(0, (output - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - size);
            long small = total / 2, big = total - small;
            (pads[d], pads[d + 2]) = auto == "SAME_UPPER" ? (small, big) : (big, small);
        }
        return pads;
    }

    private static Tensor[] BatchNorm(NodeProto n, Tensor?[] x, OpContext c)
    {
        // ONNX momentum weights the running value (default 0.9); PyTorch's weights the batch value.
        double momentum = 1 - n.GetFloat("momentum", 0.9f);
        bool training = c.Training && !c.NodeFrozen;
        return [F.batch_norm(x[0]!, x[3]!, x[4]!, x[1]!, x[2]!, training, momentum, n.GetFloat("epsilon", 1e-5f))];
    }

    private static Tensor[] Clip(NodeProto n, Tensor?[] x, OpContext c)
    {
        if (c.Opset < 11 || x.Length == 1)
        {
            float lo = n.GetFloat("min", float.MinValue), hi = n.GetFloat("max", float.MaxValue);
            return [Clamp(x[0]!, lo, hi, c)];
        }
        var min = x.ElementAtOrDefault(1);
        var max = x.ElementAtOrDefault(2);
        return [Clamp(x[0]!, min is null ? float.MinValue : min.item<float>(), max is null ? float.MaxValue : max.item<float>(), c)];
    }

    private static Tensor Clamp(Tensor x, float lo, float hi, OpContext c) => c.MayOverwriteInput ? x.clamp_(lo, hi) : torch.clamp(x, lo, hi);

    private static Tensor[] AveragePool(NodeProto n, Tensor?[] x, OpContext c)
    {
        var kernel = n.GetInts("kernel_shape")!;
        var strides = n.GetInts("strides") ?? [1, 1];
        var pads = Pads(n, x[0]!, kernel, strides, [1, 1]);
        bool includePad = n.GetInt("count_include_pad", 0) != 0;
        if (pads[0] != pads[2] || pads[1] != pads[3]) throw new UnsupportedOperatorException($"{n.Label}: asymmetric pooling pads are not supported.");
        return [F.avg_pool2d(x[0]!, kernel, strides, [pads[0], pads[1]], n.GetInt("ceil_mode", 0) != 0, includePad)];
    }

    private static Tensor[] MaxPool(NodeProto n, Tensor?[] x, OpContext c)
    {
        var kernel = n.GetInts("kernel_shape")!;
        var strides = n.GetInts("strides") ?? [1, 1];
        var dilations = n.GetInts("dilations") ?? [1, 1];
        var pads = Pads(n, x[0]!, kernel, strides, dilations);
        if (n.Output.Count > 1 && n.Output[1].Length > 0) throw new UnsupportedOperatorException($"{n.Label}: MaxPool indices output is not supported.");
        var input = x[0]!;
        if ((pads[0] != pads[2] || pads[1] != pads[3]) && SymmetricEquivalent(input, pads, kernel, strides, dilations) is { } symmetric
            && symmetric.Zip(kernel, (p, k) => 2 * p <= k).All(ok => ok)) // max_pool2d pads at most half the window
            pads = [symmetric[0], symmetric[1], symmetric[0], symmetric[1]];
        if (pads[0] != pads[2] || pads[1] != pads[3])
        {
            input = F.pad(input, [pads[1], pads[3], pads[0], pads[2]], PaddingModes.Constant, double.NegativeInfinity);
            pads = [0, 0, 0, 0];
        }
        return [F.max_pool2d(input, kernel, strides, [pads[0], pads[1]], dilations, n.GetInt("ceil_mode", 0) != 0)];
    }

    private static Tensor[] Flatten(NodeProto n, Tensor?[] x, OpContext c)
    {
        var t = x[0]!;
        long axis = n.GetInt("axis", 1);
        if (axis < 0) axis += t.dim();
        long outer = 1;
        for (int i = 0; i < axis; i++) outer *= t.shape[i];
        return [t.reshape(outer, -1)];
    }

    private static Tensor[] Reshape(NodeProto n, Tensor?[] x, OpContext c)
    {
        var t = x[0]!;
        var shape = x[1]!.data<long>().ToArray();
        bool allowZero = n.GetInt("allowzero", 0) != 0;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] == 0 && !allowZero) shape[i] = t.shape[i];
        return [t.reshape(shape)];
    }

    private static Tensor[] Gemm(NodeProto n, Tensor?[] x, OpContext c)
    {
        var a = n.GetInt("transA", 0) != 0 ? x[0]!.t() : x[0]!;
        var b = n.GetInt("transB", 0) != 0 ? x[1]!.t() : x[1]!;
        float alpha = n.GetFloat("alpha", 1f), beta = n.GetFloat("beta", 1f);
        var y = torch.matmul(a, b);
        if (alpha != 1f) y = y * alpha;
        if (x.ElementAtOrDefault(2) is { } bias) y = beta == 1f ? y + bias : y + bias * beta;
        return [y];
    }

    private static Tensor[] Pad(NodeProto n, Tensor?[] x, OpContext c)
    {
        var pads = c.Opset >= 11 ? x[1]!.data<long>().ToArray() : n.GetInts("pads")!;
        double value = c.Opset >= 11 ? (x.ElementAtOrDefault(2) is { } v && v.numel() > 0 ? v.item<float>() : 0) : n.GetFloat("value", 0);
        int rank = pads.Length / 2;
        // ONNX: [x1_begin, x2_begin, ..., x1_end, x2_end]; torch: last dim first, (begin, end) pairs.
        var torchPads = new List<long>();
        for (int d = rank - 1; d >= 0; d--) { torchPads.Add(pads[d]); torchPads.Add(pads[d + rank]); }
        while (torchPads.Count > 4 && torchPads[^1] == 0 && torchPads[^2] == 0) torchPads.RemoveRange(torchPads.Count - 2, 2);
        var mode = n.GetString("mode", "constant") switch
        {
            "reflect" => PaddingModes.Reflect,
            "edge" => PaddingModes.Replicate,
            _ => PaddingModes.Constant,
        };
        return [F.pad(x[0]!, [.. torchPads], mode, value)];
    }

    private static Tensor[] ReduceMean(NodeProto n, Tensor?[] x, OpContext c)
    {
        var axes = c.Opset >= 18 && x.Length > 1 && x[1] is not null ? x[1]!.data<long>().ToArray() : n.GetInts("axes");
        bool keep = n.GetInt("keepdims", 1) != 0;
        return [axes is null ? x[0]!.mean() : x[0]!.mean(axes, keepdim: keep)];
    }

    private static Tensor[] Gather(NodeProto n, Tensor?[] x, OpContext c)
    {
        long axis = n.GetInt("axis", 0);
        var data = x[0]!;
        var index = x[1]!;
        if (axis < 0) axis += data.dim();
        index = torch.where(index < 0, index + data.shape[axis], index);
        if (index.dim() == 0) return [data.index_select(axis, index.reshape(1)).squeeze(axis)];
        var flat = data.index_select(axis, index.flatten());
        var shape = data.shape.Take((int)axis).Concat(index.shape).Concat(data.shape.Skip((int)axis + 1)).ToArray();
        return [flat.reshape(shape)];
    }

    private static Tensor[] Unsqueeze(NodeProto n, Tensor?[] x, OpContext c)
    {
        var axes = c.Opset >= 13 ? x[1]!.data<long>().ToArray() : n.GetInts("axes")!;
        var t = x[0]!;
        long rank = t.dim() + axes.Length;
        foreach (var a in axes.Select(a => a < 0 ? a + rank : a).Order()) t = t.unsqueeze(a);
        return [t];
    }

    private static Tensor[] Squeeze(NodeProto n, Tensor?[] x, OpContext c)
    {
        var axes = c.Opset >= 13 ? (x.ElementAtOrDefault(1) is { } a ? a.data<long>().ToArray() : null) : n.GetInts("axes");
        var t = x[0]!;
        if (axes is null) return [t.squeeze()];
        foreach (var axis in axes.Select(a => a < 0 ? a + t.dim() : a).OrderDescending()) t = t.squeeze(axis);
        return [t];
    }

    private static Tensor[] Cast(NodeProto n, Tensor?[] x, OpContext c) => (OnnxDataType)n.GetInt("to", 1) switch
    {
        OnnxDataType.Float => [x[0]!.to_type(ScalarType.Float32)],
        OnnxDataType.Int64 => [x[0]!.to_type(ScalarType.Int64)],
        OnnxDataType.Int32 => [x[0]!.to_type(ScalarType.Int32)],
        var other => throw new UnsupportedOperatorException($"{n.Label}: Cast to {other} is not supported."),
    };
}
