using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Tests.Torch;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Onnx;

/// <summary>Static int8 (QDQ) quantization on a ResNet-18-shaped graph with random weights: folded, calibrated, fused by ORT.</summary>
public class OnnxInt8QuantizerTests(ITestOutputHelper output)
{
    private const string Pooled = "pooled";

    [Fact]
    public void Folding_batch_normalization_into_the_convolutions_keeps_the_outputs()
    {
        var model = PooledResNet();
        var folded = OnnxModel.Parse(model.ToByteArray());
        Assert.Equal(20, OnnxInt8Quantizer.FoldBatchNormalization(folded)); // every Conv of ResNet-18 has its BatchNormalization
        Assert.DoesNotContain(folded.Graph.Node, n => n.OpType == "BatchNormalization");
        var x = Input(seed: 5);
        var expected = Run(model, x);
        var actual = Run(folded, x);
        float scale = expected.Max(MathF.Abs);
        Assert.True(MaxAbsDiff(expected, actual) < 1e-4f * scale, $"max diff {MaxAbsDiff(expected, actual)} of {scale}");
    }

    [Fact]
    public void Quantized_network_is_fused_into_int8_kernels_and_stays_close_to_the_float_one()
    {
        var model = PooledResNet();
        OnnxInt8Quantizer.FoldBatchNormalization(model);
        var ranges = Int8Calibration.MeasureRanges(model, null, "input", Enumerable.Range(0, 4).Select(s => (Input(s), new long[] { 2, 3, 64, 64 })));
        Assert.Equal(OnnxInt8Quantizer.CalibrationTensors(model).Order(), ranges.Keys.Order());
        Assert.All(ranges.Where(r => r.Key.StartsWith("relu", StringComparison.Ordinal)), r => Assert.Equal(0f, r.Value.Min));

        var quantized = OnnxModel.Parse(model.ToByteArray());
        OnnxInt8Quantizer.Quantize(quantized, ranges);
        Assert.DoesNotContain(quantized.Graph.Node, n => n.OpType == "Relu"); // each ReLU became its producer's zero-point-0 encoding
        var x = Input(seed: 9); // not one of the calibration batches
        var expected = Run(model, x);
        var actual = Run(quantized, x);
        double cosine = Cosine(expected, actual);
        output.WriteLine($"cosine int8 vs float on an unseen batch: {cosine:F5}");
        Assert.True(cosine > 0.99, $"cosine {cosine}");
        Assert.True(cosine < 1 - 1e-7, "the outputs are identical: nothing was quantized");

        // What makes it fast: ORT ran every convolution as QLinearConv and every residual Add as QLinearAdd.
        var optimizedOps = OptimizedOps(quantized);
        Assert.Equal(20, optimizedOps.GetValueOrDefault("QLinearConv"));
        Assert.Equal(0, optimizedOps.GetValueOrDefault("Conv") + optimizedOps.GetValueOrDefault("FusedConv"));
        Assert.Equal(8, optimizedOps.GetValueOrDefault("QLinearAdd"));
    }

    [Fact]
    public void A_tensor_without_a_calibration_range_is_named()
    {
        var model = PooledResNet();
        OnnxInt8Quantizer.FoldBatchNormalization(model);
        var ranges = OnnxInt8Quantizer.CalibrationTensors(model).Skip(1).ToDictionary(t => t, _ => new ActivationRange(0, 1));
        var error = Assert.Throws<ArgumentException>(() => OnnxInt8Quantizer.Quantize(model, ranges));
        Assert.Contains("'input'", error.Message);
    }

    // ResNet-18 shape cut at its global average pool, as a featurizer uses it.
    private static OnnxModel PooledResNet()
    {
        var model = ResNetGraphs.ResNet18(seed: 3);
        var pool = model.Graph.Node.Single(n => n.OpType == "GlobalAveragePool").Output[0];
        OnnxGraphEdits.ExposeFlattened(model, pool, Pooled, [null, 512]);
        OnnxGraphEdits.Prune(model, Pooled);
        return model;
    }

    private static float[] Input(int seed) => ResNetGraphs.Normal(new Random(seed), 2 * 3 * 64 * 64, 1.0);

    private static float[] Run(OnnxModel model, float[] x) =>
        OrtRunner.Run(model, "input", x, [2, 3, 64, 64], Pooled)[Pooled].Data;

    private static Dictionary<string, int> OptimizedOps(OnnxModel model)
    {
        using var dir = new TempDir();
        var path = dir.Combine("optimized.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = path })
        using (new InferenceSession(model.ToByteArray(), options)) { }
        return OnnxModel.Load(path).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
    }

    private static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();

    internal static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
