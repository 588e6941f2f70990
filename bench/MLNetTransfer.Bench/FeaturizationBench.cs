using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNetTransfer;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using SkiaSharp;

namespace MLNetTransfer.Bench;

/// <summary>Featurization throughput at 224 px on CIFAR-10 test JPEGs: this library vs ML.NET's row-by-row chain vs raw ORT.</summary>
internal static class FeaturizationBench
{
    public static void Run(string assets, int count)
    {
        var resolver = new AssetResolver(assets);
        var images = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test")).Images.Take(count).ToList();
        var paths = images.Select(i => i.Path).ToList();
        Console.WriteLine($"| pipeline | images | seconds | img/s |");
        Console.WriteLine($"|---|---|---|---|");

        // (a) this library: ML.NET decode at 32 px on a background thread, resize+normalize in the graph, ORT batch 32.
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Assets = resolver, Backbone = BackboneCatalog.MobileNetV2Int8 });
        featurizer.Featurize(paths.Take(64)).ToList(); // warm-up (session creation)
        Time("MLNetTransfer FeaturizeImage (batch 32, overlapped decode)", count, () => featurizer.Featurize(paths).Count());

        // (b) ML.NET's own row-by-row chain on the same graph (what a saved model runs).
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(images.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));
        using var fitted = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Assets = resolver, Backbone = BackboneCatalog.MobileNetV2Int8 }).Fit(view);
        fitted.MlNetChain.Transform(ml.Data.TakeRows(view, 16)).GetColumn<float[]>("Features").Count();
        Time("ML.NET LoadImages→Resize→ExtractPixels→ApplyOnnxModel (row by row, same graph)", count,
            () => fitted.MlNetChain.Transform(view).GetColumn<float[]>("Features").Count());

        // (b') the usual ML.NET recipe: resize to 224 in ML.NET, ExtractPixels with one offset/scale, original model.
        var model = resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset);
        var classic = ml.Transforms.LoadImages("img", null, "ImagePath")
            .Append(ml.Transforms.ResizeImages("img", 224, 224, "img"))
            .Append(ml.Transforms.ExtractPixels("input", "img", offsetImage: 117f, scaleImage: 1f / 58f))
            .Append(ml.Transforms.ApplyOnnxModel(["output"], ["input"], model, new Dictionary<string, int[]> { ["input"] = [1, 3, 224, 224] }, null, false, 100))
            .Fit(view);
        classic.Transform(ml.Data.TakeRows(view, 16)).GetColumn<float[]>("output").Count();
        Time("ML.NET classic recipe (resize to 224 in ML.NET, ApplyOnnxModel on the zoo model)", count,
            () => classic.Transform(view).GetColumn<float[]>("output").Count());

        // (c) raw ORT on pre-decoded, pre-normalized tensors at batch 32 (decoding not timed).
        var tensors = PreDecode(paths, 224);
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        void RunBatches()
        {
            int per = 3 * 224 * 224;
            for (int start = 0; start < paths.Count; start += 32)
            {
                int n = Math.Min(32, paths.Count - start);
                using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                    new Memory<float>(tensors, start * per, n * per), [n, 3, 224, 224]);
                using var result = session.Run(new RunOptions(), ["input"], [input], ["output"]);
            }
        }
        RunBatches();
        Time("raw ORT session, pre-decoded tensors, batch 32", count, () => { RunBatches(); return count; });
    }

    public static void PeakRss(string assets, int count)
    {
        var images = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train")).Images
            .Concat(ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test")).Images).Take(count).Select(i => i.Path).ToList();
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Assets = new AssetResolver(assets) });
        var watch = Stopwatch.StartNew();
        double checksum = 0;
        foreach (var e in featurizer.Featurize(images)) checksum += e[0];
        var seconds = watch.Elapsed.TotalSeconds;
        using var self = Process.GetCurrentProcess();
        Console.WriteLine($"featurized {images.Count} images in {seconds:F1} s ({images.Count / seconds:F0} img/s); peak RSS {self.PeakWorkingSet64 / (1 << 20)} MiB (checksum {checksum:F3})");
    }

    private static void Time(string name, int count, Func<int> work)
    {
        GC.Collect();
        var watch = Stopwatch.StartNew();
        int done = work();
        var s = watch.Elapsed.TotalSeconds;
        if (done != count) throw new InvalidOperationException($"{name}: {done} of {count} images");
        Console.WriteLine($"| {name} | {count} | {s:F2} | {count / s:F0} |");
    }

    private static float[] PreDecode(List<string> paths, int size)
    {
        int per = 3 * size * size;
        var data = new float[paths.Count * per];
        float[] mean = BackboneInfo.ImageNetMean, std = BackboneInfo.ImageNetStd;
        for (int i = 0; i < paths.Count; i++)
        {
            using var original = SKBitmap.Decode(paths[i]);
            using var bitmap = original.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888), MLNetTransfer.Data.RawImage.Medium);
            var px = bitmap.GetPixelSpan();
            for (int p = 0; p < size * size; p++)
                for (int c = 0; c < 3; c++)
                    data[i * per + c * size * size + p] = (px[p * 4 + c] / 255f - mean[c]) / std[c];
        }
        return data;
    }
}
