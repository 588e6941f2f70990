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

    /// <summary>Where featurization time goes besides the network: decoding 32-px CIFAR files by ML.NET's chain and directly.</summary>
    public static void DecodeCost(string assets)
    {
        var paths = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), 32);
        var ml = new Microsoft.ML.MLContext(1);
        var view = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        using var transformer = new FeaturizeImageEstimator(ml, new FeaturizeImageOptions()).Fit(view);
        var decoded = transformer.DecodeChain.Transform(view);
        for (int round = 0; round < 3; round++)
        {
            double chain = Time(() =>
            {
                using var cursor = decoded.GetRowCursor([decoded.Schema[FeaturizeImageTransformer.PixelColumn]]);
                var getter = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(decoded.Schema[FeaturizeImageTransformer.PixelColumn]);
                Microsoft.ML.Data.VBuffer<float> v = default;
                while (cursor.MoveNext()) getter(ref v);
            });
            double direct = Time(() => { foreach (var p in paths) MlImagePlanes.Decode(File.ReadAllBytes(p), p, 32, 32); });
            Console.WriteLine($"round {round + 1}: ML.NET decode chain {1000 * chain / paths.Count:F2} ms/img, direct MLImage decode {1000 * direct / paths.Count:F2} ms/img");
        }
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }

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

    private static List<string> FirstPerClass(string root, int perClass) => [.. ResNet18Bench.FirstPerClass(root, perClass).Select(i => i.Path)];
}
