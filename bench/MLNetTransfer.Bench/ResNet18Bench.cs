using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;
using MLNetTransfer;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Featurization;
using MLNetTransfer.Training;
using SkiaSharp;

namespace MLNetTransfer.Bench;

/// <summary>
/// ResNet-18 from ML.NET's package: featurization at 224 px against ML.NET's own DnnFeaturizeImage and a raw ORT session
/// (rounds alternate A/B/C in one process, since other work shares the cores), and linear-probe accuracy on the first
/// 200 files per class (sorted by name) of CIFAR-10 train and test.
/// </summary>
internal static class ResNet18Bench
{
    public static void Featurize(string assets, bool quick)
    {
        int count = quick ? 160 : 320, rounds = quick ? 2 : 3;
        var paths = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), (count + 9) / 10).Select(i => i.Path).Take(count).ToList();
        var backbone = BackboneCatalog.ResNet18;

        var ours = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone });
        ours.Featurize(paths.Take(32)).ToList();

        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        var mlnet = ml.Transforms.LoadImages("Image", null, nameof(PathRow.ImagePath))
            .Append(ml.Transforms.ResizeImages("Image", 224, 224))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"))
            .Fit(view);
        mlnet.Transform(ml.Data.TakeRows(view, 8)).GetColumn<float[]>("Features").Count();

        // Raw ORT: the prepared backbone (opset 13, symbolic batch), inputs already decoded, resized and normalized (BGR − mean image).
        var model = BackboneModels.Load(backbone, AssetResolver.Default);
        Onnx.OnnxGraphEdits.MakeInputDimsSymbolic(model, backbone.InputName, "N");
        var tensors = PreDecode(paths, backbone.Normalization(AssetResolver.Default));
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        int RunRaw()
        {
            int per = 3 * 224 * 224;
            for (int start = 0; start < paths.Count; start += 32)
            {
                int n = Math.Min(32, paths.Count - start);
                using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(tensors, start * per, n * per), [n, 3, 224, 224]);
                using var result = session.Run(new RunOptions(), [backbone.InputName], [input], [backbone.Embedding.TensorName]);
            }
            return paths.Count;
        }
        RunRaw();

        var seconds = new Dictionary<string, List<double>> { ["ours"] = [], ["mlnet"] = [], ["ort"] = [] };
        for (int r = 0; r < rounds; r++)
        {
            seconds["ours"].Add(Time(() => ours.Featurize(paths).Count()));
            seconds["mlnet"].Add(Time(() => mlnet.Transform(view).GetColumn<float[]>("Features").Count()));
            seconds["ort"].Add(Time(RunRaw));
        }
        Console.WriteLine($"| pipeline (ResNet-18, 224 px, {count} CIFAR-10 test JPEGs, {rounds} alternating rounds) | img/s per round | best img/s |");
        Console.WriteLine("|---|---|---|");
        void Row(string key, string name) =>
            Console.WriteLine($"| {name} | {string.Join(" / ", seconds[key].Select(s => $"{count / s:F1}"))} | {count / seconds[key].Min():F1} |");
        Row("ours", "MLNetTransfer FeaturizeImage(resnet18): decode at 32 px, resize + BGR + mean image in the graph, batch 32");
        Row("mlnet", "ML.NET LoadImages → ResizeImages(224) → ExtractPixels → DnnFeaturizeImage(ResNet18)");
        Row("ort", "raw ORT session, pre-decoded and normalized tensors, batch 32 (decode not timed)");
        var ratios = Enumerable.Range(0, rounds).Select(i => (Ml: seconds["mlnet"][i] / seconds["ours"][i], Ort: seconds["ort"][i] / seconds["ours"][i])).ToList();
        Console.WriteLine($"per-round ratio ours / ML.NET: {string.Join(" / ", ratios.Select(x => $"{x.Ml:F2}×"))}; ours / raw ORT: {string.Join(" / ", ratios.Select(x => $"{x.Ort:F2}×"))}");
    }

    public static void Probe(string assets, bool quick, bool withFlip)
    {
        int perClass = quick ? 50 : 200;
        var train = FirstPerClass(Path.Combine(assets, "datasets/cifar10/train"), perClass);
        var test = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), perClass);
        var ml = new MLContext(1);
        var cache = Path.Combine(Path.GetTempPath(), "mlnt-resnet18-bench");
        Console.WriteLine($"| backbone (linear probe, L-BFGS, first {perClass}/class of CIFAR-10 train → test) | accuracy | macro F1 | featurize + train s |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, backbone, flip) in new[] { ("resnet18", BackboneCatalog.ResNet18, false), ("mobilenetv2-int8", BackboneCatalog.MobileNetV2Int8, false),
                     ("resnet18 + flip-average", BackboneCatalog.ResNet18, true) }.Where(row => withFlip || !row.Item3))
        {
            var watch = Stopwatch.StartNew();
            var model = LinearProbe.Train(ml, train, new LinearProbeOptions { Backbone = backbone, FlipAverage = flip, CacheFolder = cache, Assets = new AssetResolver(assets) });
            var report = ModelEvaluation.Evaluate(ml, model, test);
            Console.WriteLine($"| {name} | {report.Accuracy:F4} | {report.MacroF1:F4} | {watch.Elapsed.TotalSeconds:F0} |");
        }
    }

    /// <summary>
    /// L-BFGS L2 strength for ResNet-18's 512-d features on the first 200/class: chosen on a held-out tenth of train
    /// (never on test), then scored on test; ML.NET's default trainer options alongside.
    /// </summary>
    public static void ProbeRegularization(string assets, bool multiBlock, bool flip)
    {
        var backbone = multiBlock ? BackboneCatalog.ResNet18MultiBlock : BackboneCatalog.ResNet18;
        Console.WriteLine($"backbone {backbone.Name}, {backbone.Embedding.Dimension}-d{(flip ? ", flip-averaged" : "")}");
        var train = FirstPerClass(Path.Combine(assets, "datasets/cifar10/train"), 200);
        var test = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), 200);
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, FlipAverage = flip, CacheFolder = Path.Combine(Path.GetTempPath(), "mlnt-resnet18-bench") });
        var trainX = featurizer.Featurize(train.Select(i => i.Path)).ToArray();
        var testX = featurizer.Featurize(test.Select(i => i.Path)).ToArray();
        float[] grid = [1e-2f, 1e-1f, 1f, 4f];
        Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options Library(float l2) =>
            new() { L1Regularization = 1, L2Regularization = l2, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 };
        var (best, scores) = ProbeVariantsBench.ChooseOnHeldOut(grid, trainX, train, Library);
        Console.WriteLine($"held-out tenth of train: {string.Join(" / ", grid.Zip(scores, (l2, a) => $"L2 {l2}: {a:F4}"))}; chosen L2 {best}");
        foreach (var l2 in grid)
            Console.WriteLine($"| library L-BFGS (L1 1, tol 1e-6, ≤500 it), L2 {l2}{(l2 == best ? " (chosen on held-out)" : "")} | {ProbeVariantsBench.Probe(trainX, train, testX, test, Library(l2)).Accuracy:F4} |");
        Console.WriteLine($"| ML.NET default LbfgsMaximumEntropy options (L1 1, L2 1) | {ProbeVariantsBench.Probe(trainX, train, testX, test, new()).Accuracy:F4} |");
    }

    /// <summary>The first <paramref name="perClass"/> files of each class folder, both sorted by ordinal name.</summary>
    private static List<LabeledImage> FirstPerClass(string root, int perClass) =>
        [.. Directory.GetDirectories(root).Order(StringComparer.Ordinal).SelectMany(d =>
            Directory.GetFiles(d).Order(StringComparer.Ordinal).Take(perClass).Select(f => new LabeledImage(f, Path.GetFileName(d))))];

    private static double Time(Func<int> work)
    {
        GC.Collect();
        var watch = Stopwatch.StartNew();
        work();
        return watch.Elapsed.TotalSeconds;
    }

    private static float[] PreDecode(List<string> paths, Onnx.ImageNormalization norm)
    {
        const int size = 224;
        int per = 3 * size * size, plane = size * size;
        var offset = norm.OffsetImage(size)!;
        var data = new float[paths.Count * per];
        for (int i = 0; i < paths.Count; i++)
        {
            using var original = SKBitmap.Decode(paths[i]);
            using var bitmap = original.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888), SKFilterQuality.Medium);
            var px = bitmap.GetPixelSpan();
            for (int c = 0; c < 3; c++)
            {
                int source = norm.SourcePlanes[c];
                for (int p = 0; p < plane; p++)
                    data[i * per + c * plane + p] = (px[p * 4 + source] * norm.PixelScale / 255f - norm.Mean[c]) / norm.Std[c] - offset[c * plane + p];
            }
        }
        return data;
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }
}
