using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Torch;

/// <summary>
/// The from-scratch baseline CNN (what transfer learning is compared with) as an ONNX graph with random (He-initialized) weights: three blocks of Conv 3×3 → ReLU →
/// MaxPool 2×2 (32, 64, 128 filters), then global average pooling. It goes through the same importer, trainer and exporter
/// as a pretrained backbone; its embedding tensor is <see cref="EmbeddingName"/> (128-d).
/// </summary>
internal static class ScratchCnn
{
    /// <summary>The pooled embedding tensor.</summary>
    public const string EmbeddingName = "embedding";

    /// <summary>Embedding width.</summary>
    public const int EmbeddingDimension = 128;

    /// <summary>Builds the graph; the same seed gives the same weights.</summary>
    public static OnnxModel Build(int seed = 1, int[]? filters = null)
    {
        filters ??= [32, 64, 128];
        var random = new Random(seed);
        var b = new OnnxGraphBuilder("scratch_cnn");
        b.AddInput("input", OnnxDataType.Float, [null, 3, null, null], ["N", null, "H", "W"]);
        string x = "input";
        int channels = 3;
        for (int i = 0; i < filters.Length; i++)
        {
            int fanIn = channels * 9;
            var w = b.AddInitializer($"conv{i + 1}_weight", [filters[i], channels, 3, 3], Uniform(random, filters[i] * fanIn, Math.Sqrt(6.0 / fanIn)));
            var bias = b.AddInitializer($"conv{i + 1}_bias", [filters[i]], new float[filters[i]]);
            x = b.AddNode("Conv", [x, w, bias], [$"conv{i + 1}"], AttributeProto.IntList("kernel_shape", 3, 3), AttributeProto.IntList("pads", 1, 1, 1, 1));
            x = b.AddNode("Relu", [x], [$"relu{i + 1}"]);
            x = b.AddNode("MaxPool", [x], [$"pool{i + 1}"], AttributeProto.IntList("kernel_shape", 2, 2), AttributeProto.IntList("strides", 2, 2));
            channels = filters[i];
        }
        b.AddNode("GlobalAveragePool", [x], [EmbeddingName]);
        b.AddOutput(EmbeddingName, OnnxDataType.Float, [null, channels, 1, 1]);
        return b.Build(opset: 13);
    }

    private static float[] Uniform(Random random, int count, double bound)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        return v;
    }
}
