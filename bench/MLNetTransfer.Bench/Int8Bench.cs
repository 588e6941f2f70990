using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using MLNetTransfer.Backbones;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Bench;

/// <summary>
/// Int8 ResNet-18: calibration on CIFAR-10 training images (never the test images measured), then on test images the
/// agreement of int8 and float embeddings and the speed of both graphs on the same pre-decoded batches (alternating).
/// </summary>
internal static class Int8Bench
{
    public static void Run(string assets, bool quick, bool writeRanges)
    {
        var calibration = FirstPerClass(Path.Combine(assets, "datasets/cifar10/train"), 26).Take(Int8Calibration.DefaultImageCount).ToList();
        var test = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), quick ? 8 : 32);
        var watch = Stopwatch.StartNew();
        var int8 = Int8Calibration.Calibrate(BackboneCatalog.ResNet18, calibration);
        Console.WriteLine($"calibration: {calibration.Count} images, {int8.Int8Ranges!.Count} tensors, {watch.Elapsed.TotalSeconds:F1} s");
        if (writeRanges) Console.WriteLine(string.Join("\n", int8.Int8Ranges.Select(r => FormattableString.Invariant($"[\"{r.Key}\"] = new({r.Value.Min:R}f, {r.Value.Max:R}f),"))));

        var fp32 = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = BackboneCatalog.ResNet18 }).Featurize(test).ToList();
        var q = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = int8 }).Featurize(test).ToList();
        var cos = fp32.Zip(q, Cosine).ToList();
        Console.WriteLine($"embedding cosine int8 vs fp32 on {test.Count} test images: mean {cos.Average():F4}, min {cos.Min():F4}");

        // Speed of the two featurizer graphs on identical inputs, decode excluded (32 px pixels; the graph resizes).
        var pixels = new float[32 * 3 * 32 * 32];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (i * 7919 % 256) / 255f;
        using var a = new OnnxBatchRunner(FeaturizerGraph.Build(BackboneCatalog.ResNet18, AssetResolver.Default, 224));
        using var b = new OnnxBatchRunner(FeaturizerGraph.Build(int8, AssetResolver.Default, 224));
        a.Run(pixels, 32, 32, 32); b.Run(pixels, 32, 32, 32);
        int reps = quick ? 2 : 5;
        for (int round = 0; round < 3; round++)
        {
            double ta = Time(() => { for (int r = 0; r < reps; r++) a.Run(pixels, 32, 32, 32); });
            double tb = Time(() => { for (int r = 0; r < reps; r++) b.Run(pixels, 32, 32, 32); });
            Console.WriteLine($"round {round + 1}: fp32 {32 * reps / ta:F1} img/s, int8 {32 * reps / tb:F1} img/s, int8/fp32 {ta / tb:F2}×");
        }
    }

    /// <summary>
    /// The featurizer graph with a symbolic input size (resize sizes computed in the graph) against the same graph with the
    /// input fixed at the decode size (constant resize scales, every shape known), alternating, on 32-px pixels.
    /// </summary>
    public static void Shapes(bool quick)
    {
        var pixels = new float[32 * 3 * 32 * 32];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (i * 7919 % 256) / 255f;
        int reps = quick ? 2 : 5;
        foreach (var backbone in new[] { BackboneCatalog.ResNet18, BackboneCatalog.ResNet18Int8 })
        {
            using var symbolic = new OnnxBatchRunner(FeaturizerGraph.Build(backbone, AssetResolver.Default, 224));
            using var fixedSize = new OnnxBatchRunner(FeaturizerGraph.Build(backbone, AssetResolver.Default, 224, inputSize: (32, 32)));
            var a = symbolic.Run(pixels, 32, 32, 32);
            var b = fixedSize.Run(pixels, 32, 32, 32);
            Console.WriteLine($"{backbone.Name}: max abs diff symbolic vs fixed {a.Zip(b, (x, y) => Math.Abs(x - y)).Max():G3} (values up to {a.Max(Math.Abs):G3})");
            for (int round = 0; round < 3; round++)
            {
                double ta = Time(() => { for (int r = 0; r < reps; r++) symbolic.Run(pixels, 32, 32, 32); });
                double tb = Time(() => { for (int r = 0; r < reps; r++) fixedSize.Run(pixels, 32, 32, 32); });
                Console.WriteLine($"  round {round + 1}: symbolic {32 * reps / ta:F1} img/s, fixed {32 * reps / tb:F1} img/s, fixed/symbolic {ta / tb:F2}×");
            }
        }
    }

    private static double Cosine(float[] x, float[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++) { dot += x[i] * y[i]; nx += x[i] * x[i]; ny += y[i] * y[i]; }
        return dot / Math.Sqrt(nx * ny);
    }

    private static double Time(Action work)
    {
        var watch = Stopwatch.StartNew();
        work();
        return watch.Elapsed.TotalSeconds;
    }

    private static List<string> FirstPerClass(string root, int perClass) =>
        [.. Directory.GetDirectories(root).Order(StringComparer.Ordinal).SelectMany(d => Directory.GetFiles(d).Order(StringComparer.Ordinal).Take(perClass))];
}
