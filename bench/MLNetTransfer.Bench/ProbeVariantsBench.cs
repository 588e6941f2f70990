using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using MLNetTransfer.Torch;

namespace MLNetTransfer.Bench;

/// <summary>
/// Where does frozen-feature accuracy go? The same L-BFGS probe on embedding variants of CIFAR-10: MobileNetV2-int8's
/// pooled tensor (the default), the dequantized (fp32 twin) backbone's, each with in-graph flip averaging, and pooled
/// outputs of several blocks concatenated. Full mode: all 50,000 / 10,000 images, L2 chosen on a held-out 10% of train.
/// Also prints ImageNet top-3 names for a few images per class, a sanity check of the preprocessing.
/// </summary>
internal static class ProbeVariantsBench
{
    private static readonly float[] L2Grid = [1e-3f, 1e-2f, 1e-1f];

    public static void Run(string assets, bool quick)
    {
        int? perClass = quick ? 100 : null, testPerClass = quick ? 50 : null;
        var train = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { MaxPerClass = perClass, Seed = 1 }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = testPerClass, Seed = 1 }).Images;
        var resolver = new AssetResolver(assets);
        var work = Path.Combine(Path.GetTempPath(), "mlnt-probe-variants");
        Directory.CreateDirectory(work);
        var multi = MultiBlock(resolver, work);
        SanityTop3(resolver, test, Path.Combine(assets, "models/imagenet-labels.txt"));

        var (trainPaths, testPaths) = (train.Select(i => i.Path).ToList(), test.Select(i => i.Path).ToList());
        (float[][] Train, float[][] Test, double Seconds) Embed(BackboneInfo backbone, bool flip)
        {
            var watch = Stopwatch.StartNew();
            var f = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, Assets = resolver, FlipAverage = flip, CacheFolder = Path.Combine(work, "cache") });
            var x = (f.Featurize(trainPaths).ToArray(), f.Featurize(testPaths).ToArray());
            Console.WriteLine($"  featurized {backbone.Name}{(flip ? " flip-averaged" : "")}: {watch.Elapsed.TotalSeconds:F0} s");
            return (x.Item1, x.Item2, watch.Elapsed.TotalSeconds);
        }
        // The multi-block embedding ends with the dequantized pooled one, so one pass gives both.
        var int8 = Embed(BackboneCatalog.MobileNetV2Int8, false);
        var blocks = Embed(multi, false);
        var blocksFlip = Embed(multi, true);
        static float[][] Last(float[][] x, int n) => [.. x.Select(v => v[^n..])];
        var variants = new (string Name, float[][] Train, float[][] Test, double Seconds)[]
        {
            ("int8 pooled (default)", int8.Train, int8.Test, int8.Seconds),
            ("dequantized pooled", Last(blocks.Train, 1280), Last(blocks.Test, 1280), blocks.Seconds),
            ("dequantized, flip-averaged", Last(blocksFlip.Train, 1280), Last(blocksFlip.Test, 1280), blocksFlip.Seconds),
            ("dequantized blocks 13+16+17+last pooled", blocks.Train, blocks.Test, blocks.Seconds),
            ("dequantized blocks 13+16+17+last, flip-averaged", blocksFlip.Train, blocksFlip.Test, blocksFlip.Seconds),
        };
        // Validation split for choosing L2: every 10th training image.
        var fitIdx = Enumerable.Range(0, train.Count).Where(i => i % 10 != 0).ToArray();
        var valIdx = Enumerable.Range(0, train.Count).Where(i => i % 10 == 0).ToArray();
        var rows = new List<string>();
        foreach (var (name, trainX, testX, featurizeSeconds) in variants)
        {
            var scores = L2Grid.Select(l2 => (l2, acc: Probe(Pick(trainX, fitIdx), Pick(train, fitIdx), Pick(trainX, valIdx), Pick(train, valIdx), l2).Accuracy)).ToList();
            var best = scores.MaxBy(s => s.acc);
            var (accuracy, fitSeconds) = Probe(trainX, train, testX, test, best.l2);
            var row = $"| {name} | {trainX[0].Length} | {featurizeSeconds:F0} | {string.Join(" / ", scores.Select(s => $"{s.acc:F3}"))} | {best.l2:G1} | {fitSeconds:F0} | {accuracy:P2} |";
            Console.WriteLine(row);
            rows.Add(row);
        }
        Console.WriteLine($"\n{train.Count} train / {test.Count} test; validation = every 10th training image; L2 grid {string.Join(", ", L2Grid)}");
        Console.WriteLine("| embedding | dims | featurize s (cached if 0) | validation accuracy per L2 | chosen L2 | fit s | test accuracy |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
    }

    /// <summary>
    /// Which L-BFGS settings matter, on the cached int8 and dequantized flip-averaged embeddings of all of CIFAR-10:
    /// the library's trainer entry against ML.NET's defaults and single changes between them.
    /// </summary>
    public static void RunTrainerSettings(string assets)
    {
        var train = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { Seed = 1 }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { Seed = 1 }).Images;
        var resolver = new AssetResolver(assets);
        var work = Path.Combine(Path.GetTempPath(), "mlnt-probe-variants");
        var settings = new (string Name, LbfgsMaximumEntropyMulticlassTrainer.Options Options)[]
        {
            ("library (L1 0, L2 1e-2, tol 1e-6, ≤500 it, history 50)", new() { L1Regularization = 0, L2Regularization = 1e-2f, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 }),
            ("same, no iteration cap, tol 1e-7", new() { L1Regularization = 0, L2Regularization = 1e-2f, HistorySize = 50 }),
            ("same with L1 1 (ML.NET's default)", new() { L1Regularization = 1, L2Regularization = 1e-2f, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 }),
            ("ML.NET defaults, L2 1e-2", new() { L2Regularization = 1e-2f }),
        };
        // The multi-block embeddings Run cached end with the dequantized pooled ones.
        var multi = MultiBlock(resolver, work);
        foreach (var (name, backbone, flip) in new[] { ("int8", BackboneCatalog.MobileNetV2Int8, false), ("dequantized flip-averaged", multi, true) })
        {
            var f = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, Assets = resolver, FlipAverage = flip, CacheFolder = Path.Combine(work, "cache") });
            var trainX = f.Featurize(train.Select(i => i.Path)).Select(v => v[^1280..]).ToArray();
            var testX = f.Featurize(test.Select(i => i.Path)).Select(v => v[^1280..]).ToArray();
            foreach (var (setting, options) in settings)
            {
                var (accuracy, seconds) = Probe(trainX, train, testX, test, options);
                Console.WriteLine($"| {name} | {setting} | {seconds:F0} | {accuracy:P2} |");
            }
        }
    }

    /// <summary>L1 strength chosen on a held-out 10% of train, for the int8 and the multi-block flip-averaged embeddings (cached by Run).</summary>
    public static void RunL1Sweep(string assets)
    {
        var train = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { Seed = 1 }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { Seed = 1 }).Images;
        var resolver = new AssetResolver(assets);
        var work = Path.Combine(Path.GetTempPath(), "mlnt-probe-variants");
        var fitIdx = Enumerable.Range(0, train.Count).Where(i => i % 10 != 0).ToArray();
        var valIdx = Enumerable.Range(0, train.Count).Where(i => i % 10 == 0).ToArray();
        foreach (var (name, backbone, flip) in new[] { ("int8", BackboneCatalog.MobileNetV2Int8, false), ("multi-block flip-averaged", MultiBlock(resolver, work), true) })
        {
            var f = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, Assets = resolver, FlipAverage = flip, CacheFolder = Path.Combine(work, "cache") });
            var trainX = f.Featurize(train.Select(i => i.Path)).ToArray();
            var testX = f.Featurize(test.Select(i => i.Path)).ToArray();
            LbfgsMaximumEntropyMulticlassTrainer.Options With(float l1) =>
                new() { L1Regularization = l1, L2Regularization = 1e-2f, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 };
            var scores = new[] { 0.25f, 1f, 4f }.Select(l1 => (l1, acc: Probe(Pick(trainX, fitIdx), Pick(train, fitIdx), Pick(trainX, valIdx), Pick(train, valIdx), With(l1)).Accuracy)).ToList();
            var best = scores.MaxBy(x => x.acc);
            var (accuracy, seconds) = Probe(trainX, train, testX, test, With(best.l1));
            Console.WriteLine($"| {name} | {string.Join(" / ", scores.Select(x => $"L1 {x.l1}: {x.acc:F4}"))} | {best.l1} | {seconds:F0} | {accuracy:P2} |");
        }
    }

    /// <summary>L1 strength against training-set size: int8 embeddings (cached by Run), seeded subsets, all 10,000 test images.</summary>
    public static void RunL1BySize(string assets)
    {
        var all = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { Seed = 1 }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { Seed = 1 }).Images;
        var f = new ImageFeaturizer(new FeaturizeImageOptions { Assets = new AssetResolver(assets), CacheFolder = Path.Combine(Path.GetTempPath(), "mlnt-probe-variants", "cache") });
        var testX = f.Featurize(test.Select(i => i.Path)).ToArray();
        float[] l1s = [0f, 0.1f, 0.25f, 1f];
        Console.WriteLine($"| train images per class | {string.Join(" | ", l1s.Select(l => $"L1 {l}"))} |");
        Console.WriteLine($"|---|{string.Concat(l1s.Select(_ => "---|"))}");
        foreach (int perClass in new[] { 10, 30, 100, 300, 1000 })
        {
            var train = Stratified.Sample(all, i => i.Label, perClass, 1);
            var trainX = f.Featurize(train.Select(i => i.Path)).ToArray();
            var accuracies = l1s.Select(l1 => Probe(trainX, train, testX, test, new LbfgsMaximumEntropyMulticlassTrainer.Options
                { L1Regularization = l1, L2Regularization = 1e-2f, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 }).Accuracy);
            Console.WriteLine($"| {perClass} | {string.Join(" | ", accuracies.Select(a => a.ToString("P2")))} |");
        }
    }

    private static T[] Pick<T>(IReadOnlyList<T> items, int[] idx) => [.. idx.Select(i => items[i])];

    /// <summary>The dequantized backbone with the pooled outputs of blocks 13 (96 ch), 16 (160), 17 (320) and the last conv (1280) concatenated.</summary>
    private static BackboneInfo MultiBlock(AssetResolver resolver, string work)
    {
        var path = Path.Combine(work, "mobilenetv2-fp32-multiblock.onnx");
        var model = OnnxDequantizer.ToFloat(OnnxModel.Load(resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset)));
        var pooled = new List<string>();
        foreach (var t in new[] { "426_quantized", "452_quantized", "624_quantized" })
        {
            model.Graph.Nodes.Add(NodeProto.Create("GlobalAveragePool", [t], [t + "_gap"], t + "_gap_node"));
            pooled.Add(t + "_gap");
        }
        pooled.Add("464_quantized");
        model.Graph.Nodes.Add(NodeProto.Create("Concat", [.. pooled], ["multiblock"], "multiblock_concat", null, AttributeProto.Int("axis", 1)));
        model.Save(path);
        return BackboneCatalog.FromOnnxFile(path, "multiblock") with { Name = "mobilenetv2-fp32-multiblock" };
    }

    private static (double Accuracy, double Seconds) Probe(float[][] trainX, IReadOnlyList<LabeledImage> train, float[][] testX, IReadOnlyList<LabeledImage> test, float l2) =>
        Probe(trainX, train, testX, test, new LbfgsMaximumEntropyMulticlassTrainer.Options { L2Regularization = l2 });

    private static (double Accuracy, double Seconds) Probe(float[][] trainX, IReadOnlyList<LabeledImage> train, float[][] testX, IReadOnlyList<LabeledImage> test,
        LbfgsMaximumEntropyMulticlassTrainer.Options options)
    {
        var ml = new MLContext(1);
        int dims = trainX[0].Length;
        IDataView View(IReadOnlyList<LabeledImage> items, float[][] x) =>
            ml.Data.LoadFromEnumerable(items.Select((it, i) => new Row { Label = it.Label, Features = x[i] }), Def(dims));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(options));
        var watch = Stopwatch.StartNew();
        var model = pipeline.Fit(ml.Data.Cache(View(train, trainX)));
        double seconds = watch.Elapsed.TotalSeconds;
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(View(test, testX)));
        return (metrics.MicroAccuracy, seconds);
    }

    private static SchemaDefinition Def(int dims)
    {
        var d = SchemaDefinition.Create(typeof(Row));
        d["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dims);
        return d;
    }

    private static void SanityTop3(AssetResolver resolver, IReadOnlyList<LabeledImage> test, string labelsFile)
    {
        var names = File.ReadAllLines(labelsFile);
        var logits = BackboneCatalog.FromOnnxFile(resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset), "output") with { Name = "mobilenetv2-int8-logits" };
        var sample = test.GroupBy(i => i.Label).SelectMany(g => g.Take(2)).ToList();
        var f = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = logits, Assets = resolver });
        var outputs = f.Featurize(sample.Select(i => i.Path)).ToList();
        Console.WriteLine("ImageNet top-3 (int8 logits) for two test images per CIFAR class:");
        for (int i = 0; i < sample.Count; i++)
        {
            var top = outputs[i].Select((v, k) => (v, k)).OrderByDescending(p => p.v).Take(3).Select(p => names[p.k]);
            Console.WriteLine($"  {sample[i].Label,-10} {string.Join(" | ", top)}");
        }
    }

    private sealed class Row
    {
        public string Label { get; set; } = "";
        public float[] Features { get; set; } = [];
    }
}
