using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Bench;

/// <summary>
/// Where does frozen-feature accuracy go? The same L-BFGS probe on embedding variants of CIFAR-10: MobileNetV2-int8's
/// pooled tensor (the default), the dequantized backbone's, with in-graph flip averaging, and the multi-block embedding;
/// then which trainer settings matter. Full mode: all 50,000 / 10,000 images, regularization chosen on a held-out 10%
/// of train. The colour-order check of the preprocessing is <see cref="ChannelOrderBench"/>.
/// </summary>
internal static class ProbeVariantsBench
{
    private static readonly float[] L2Grid = [1e-3f, 1e-2f, 1e-1f];
    private static readonly string Cache = Path.Combine(Path.GetTempPath(), "mlnt-probe-variants", "cache");

    public static void Run(string assets, bool quick)
    {
        var (train, test) = Cifar(assets, quick ? 100 : null, quick ? 50 : null);
        (float[][] Train, float[][] Test, double Seconds) Embed(BackboneInfo backbone, bool flip)
        {
            var watch = Stopwatch.StartNew();
            var (trainX, testX) = Featurize(assets, backbone, flip, train, test);
            Console.WriteLine($"  featurized {backbone.Name}{(flip ? " flip-averaged" : "")}: {watch.Elapsed.TotalSeconds:F0} s");
            return (trainX, testX, watch.Elapsed.TotalSeconds);
        }
        // The multi-block embedding ends with the dequantized pooled one, so one pass gives both.
        var int8 = Embed(BackboneCatalog.MobileNetV2Int8, false);
        var blocks = Embed(BackboneCatalog.MobileNetV2MultiBlock, false);
        var blocksFlip = Embed(BackboneCatalog.MobileNetV2MultiBlock, true);
        var variants = new (string Name, float[][] Train, float[][] Test, double Seconds)[]
        {
            ("int8 pooled (default)", int8.Train, int8.Test, int8.Seconds),
            ("dequantized pooled", LastLayer(blocks.Train), LastLayer(blocks.Test), blocks.Seconds),
            ("dequantized, flip-averaged", LastLayer(blocksFlip.Train), LastLayer(blocksFlip.Test), blocksFlip.Seconds),
            ("dequantized blocks 13+16+17+last pooled", blocks.Train, blocks.Test, blocks.Seconds),
            ("dequantized blocks 13+16+17+last, flip-averaged", blocksFlip.Train, blocksFlip.Test, blocksFlip.Seconds),
        };
        var rows = new List<string>();
        foreach (var (name, trainX, testX, featurizeSeconds) in variants)
        {
            var (best, scores, accuracy, fitSeconds) = ProbeWithHeldOutL2(L2Grid, trainX, train, testX, test);
            var row = $"| {name} | {trainX[0].Length} | {featurizeSeconds:F0} | {string.Join(" / ", scores.Select(s => $"{s:F3}"))} | {best:G1} | {fitSeconds:F0} | {accuracy:P2} |";
            Console.WriteLine(row);
            rows.Add(row);
        }
        Console.WriteLine($"\n{train.Count} train / {test.Count} test; validation = every 10th training image; L2 grid {string.Join(", ", L2Grid)}");
        Console.WriteLine("| embedding | dims | featurize s (cached if 0) | validation accuracy per L2 | chosen L2 | fit s | test accuracy |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
    }

    /// <summary>
    /// ResNet-18 (ML.NET's package) frozen features on all of CIFAR-10: one pass of the multi-block entry gives both its
    /// features and, as their last 512 values, the plain pooled embedding; L2 chosen on held-out training images.
    /// </summary>
    public static void RunResNet18Full(string assets, bool quick, bool int8 = false, bool flip = false)
    {
        var (train, test) = Cifar(assets, quick ? 100 : null, quick ? 50 : null);
        var watch = Stopwatch.StartNew();
        var backbone = int8 ? BackboneCatalog.ResNet18MultiBlockInt8 : BackboneCatalog.ResNet18MultiBlock;
        var (trainX, testX) = Featurize(assets, backbone, flip, train, test);
        double featurizeSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"  featurized {backbone.Name}{(flip ? " + flip-average" : "")}: {featurizeSeconds:F0} s ({(train.Count + test.Count) / featurizeSeconds:F1} img/s)");
        float[][] Last512(float[][] x) => [.. x.Select(v => v[^512..])];
        Console.WriteLine("| embedding | dims | featurize s | validation accuracy per L2 | chosen L2 | fit s | test accuracy |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, tx, sx) in new[] { ("resnet18 pooled", Last512(trainX), Last512(testX)), (backbone.Name, trainX, testX) })
        {
            float[] grid = [1e-2f, 1e-1f, 1f];
            var (best, scores, accuracy, fitSeconds) = ProbeWithHeldOutL2(grid, tx, train, sx, test);
            Console.WriteLine($"| {name} | {tx[0].Length} | {featurizeSeconds:F0} | {string.Join(" / ", scores.Select(v => $"{v:F3}"))} | {best:G1} | {fitSeconds:F0} | {accuracy:P2} |");
        }
        Console.WriteLine($"{train.Count} train / {test.Count} test");
    }

    /// <summary>
    /// Two frozen backbones side by side: the flip-averaged multi-block features of ResNet-18 (int8) and of MobileNetV2
    /// (dequantized) concatenated per image, as an ML.NET chain of two <c>FeaturizeImage</c> transforms and a
    /// <c>Concatenate</c> would; the same L-BFGS probe, L2 chosen on every 10th training image.
    /// </summary>
    public static void RunTwoBackbones(string assets, bool quick)
    {
        var (train, test) = Cifar(assets, quick ? 100 : null, quick ? 50 : null);
        var watch = Stopwatch.StartNew();
        var (resnetTrain, resnetTest) = Featurize(assets, BackboneCatalog.ResNet18MultiBlockInt8, true, train, test);
        double resnetSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        var (mobileTrain, mobileTest) = Featurize(assets, BackboneCatalog.MobileNetV2MultiBlock, true, train, test);
        double mobileSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"  featurized (cached if ~0): resnet18-multiblock-int8 {resnetSeconds:F0} s, mobilenetv2-multiblock {mobileSeconds:F0} s");
        float[][] Concat(float[][] a, float[][] b) => [.. a.Select((v, i) => (float[])[.. v, .. b[i]])];
        Console.WriteLine("| embedding (flip-averaged) | dims | validation accuracy per L2 | chosen L2 | fit s | test accuracy |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, tx, sx) in new[]
        {
            ("mobilenetv2-multiblock", mobileTrain, mobileTest),
            ("resnet18-multiblock-int8 + mobilenetv2-multiblock", Concat(resnetTrain, mobileTrain), Concat(resnetTest, mobileTest)),
        })
        {
            float[] grid = [1e-1f, 1f, 4f];
            var (best, scores, accuracy, fitSeconds) = ProbeWithHeldOutL2(grid, tx, train, sx, test);
            Console.WriteLine($"| {name} | {tx[0].Length} | {string.Join(" / ", scores.Select(v => $"{v:F3}"))} | {best:G1} | {fitSeconds:F0} | {accuracy:P2} |");
        }
        Console.WriteLine($"{train.Count} train / {test.Count} test");
    }

    /// <summary>
    /// Which L-BFGS settings matter, on the int8 and dequantized flip-averaged embeddings of all of CIFAR-10 (cached by
    /// <see cref="Run"/>): the library's former entry against ML.NET's defaults and single changes between them.
    /// </summary>
    public static void RunTrainerSettings(string assets)
    {
        var (train, test) = Cifar(assets, null, null);
        var settings = new (string Name, LbfgsMaximumEntropyMulticlassTrainer.Options Options)[]
        {
            ("library (L1 0, L2 1e-2, tol 1e-6, ≤500 it, history 50)", LibraryLbfgs(0)),
            ("same, no iteration cap, tol 1e-7", new() { L1Regularization = 0, L2Regularization = 1e-2f, HistorySize = 50 }),
            ("same with L1 1 (ML.NET's default)", LibraryLbfgs(1)),
            ("ML.NET defaults, L2 1e-2", new() { L2Regularization = 1e-2f }),
        };
        foreach (var (name, backbone, flip) in new[] { ("int8", BackboneCatalog.MobileNetV2Int8, false), ("dequantized flip-averaged", BackboneCatalog.MobileNetV2MultiBlock, true) })
        {
            var (trainX, testX) = Featurize(assets, backbone, flip, train, test);
            if (flip) (trainX, testX) = (LastLayer(trainX), LastLayer(testX));
            foreach (var (setting, options) in settings)
            {
                var (accuracy, seconds) = Probe(trainX, train, testX, test, options);
                Console.WriteLine($"| {name} | {setting} | {seconds:F0} | {accuracy:P2} |");
            }
        }
    }

    /// <summary>L1 strength chosen on a held-out 10% of train, for the int8 and the multi-block flip-averaged embeddings.</summary>
    public static void RunL1Sweep(string assets)
    {
        var (train, test) = Cifar(assets, null, null);
        foreach (var (name, backbone, flip) in new[] { ("int8", BackboneCatalog.MobileNetV2Int8, false), ("multi-block flip-averaged", BackboneCatalog.MobileNetV2MultiBlock, true) })
        {
            var (trainX, testX) = Featurize(assets, backbone, flip, train, test);
            float[] grid = [0.25f, 1f, 4f];
            var (best, scores) = ChooseOnHeldOut(grid, trainX, train, LibraryLbfgs);
            var (accuracy, seconds) = Probe(trainX, train, testX, test, LibraryLbfgs(best));
            Console.WriteLine($"| {name} | {string.Join(" / ", grid.Zip(scores, (l1, s) => $"L1 {l1}: {s:F4}"))} | {best} | {seconds:F0} | {accuracy:P2} |");
        }
    }

    /// <summary>L1 strength against training-set size: int8 embeddings, seeded subsets, all 10,000 test images.</summary>
    public static void RunL1BySize(string assets)
    {
        var (all, test) = Cifar(assets, null, null);
        var f = Featurizer(assets, BackboneCatalog.MobileNetV2Int8, false);
        var testX = f.Featurize(test.Select(i => i.Path)).ToArray();
        float[] l1s = [0f, 0.1f, 0.25f, 1f];
        Console.WriteLine($"| train images per class | {string.Join(" | ", l1s.Select(l => $"L1 {l}"))} |");
        Console.WriteLine($"|---|{string.Concat(l1s.Select(_ => "---|"))}");
        foreach (int perClass in new[] { 10, 30, 100, 300, 1000 })
        {
            var train = Stratified.Sample(all, i => i.Label, perClass, 1);
            var trainX = f.Featurize(train.Select(i => i.Path)).ToArray();
            var accuracies = l1s.Select(l1 => Probe(trainX, train, testX, test, LibraryLbfgs(l1)).Accuracy);
            Console.WriteLine($"| {perClass} | {string.Join(" | ", accuracies.Select(a => a.ToString("P2")))} |");
        }
    }

    private static (IReadOnlyList<LabeledImage> Train, IReadOnlyList<LabeledImage> Test) Cifar(string assets, int? perClass, int? testPerClass) =>
        (ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { MaxPerClass = perClass, Seed = 1 }).Images,
         ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = testPerClass, Seed = 1 }).Images);

    private static ImageFeaturizer Featurizer(string assets, BackboneInfo backbone, bool flip) =>
        new(new FeaturizeImageOptions { Backbone = backbone, Assets = new AssetResolver(assets), FlipAverage = flip, CacheFolder = Cache });

    private static (float[][] Train, float[][] Test) Featurize(string assets, BackboneInfo backbone, bool flip,
        IReadOnlyList<LabeledImage> train, IReadOnlyList<LabeledImage> test)
    {
        var f = Featurizer(assets, backbone, flip);
        return (f.Featurize(train.Select(i => i.Path)).ToArray(), f.Featurize(test.Select(i => i.Path)).ToArray());
    }

    /// <summary>The last 1,280 columns of the multi-block embedding: the dequantized backbone's own pooled embedding.</summary>
    private static float[][] LastLayer(float[][] x) => [.. x.Select(v => v[^1280..])];

    /// <summary>The library's former L-BFGS entry with a given L1 (ClassicalTrainers.Lbfgs is this with L1 1).</summary>
    private static LbfgsMaximumEntropyMulticlassTrainer.Options LibraryLbfgs(float l1) =>
        new() { L1Regularization = l1, L2Regularization = 1e-2f, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 };

    /// <summary>
    /// The L-BFGS probe with ML.NET's defaults but L2, which <see cref="ChooseOnHeldOut"/> picks from <paramref name="grid"/>
    /// on the training images alone; then fitted on all of them and scored on <paramref name="test"/>.
    /// </summary>
    private static (float Best, double[] Scores, double Accuracy, double FitSeconds) ProbeWithHeldOutL2(float[] grid,
        float[][] trainX, IReadOnlyList<LabeledImage> train, float[][] testX, IReadOnlyList<LabeledImage> test)
    {
        var (best, scores) = ChooseOnHeldOut(grid, trainX, train, l2 => new LbfgsMaximumEntropyMulticlassTrainer.Options { L2Regularization = l2 });
        var (accuracy, fitSeconds) = Probe(trainX, train, testX, test, new() { L2Regularization = best });
        return (best, scores, accuracy, fitSeconds);
    }

    /// <summary>Fits on 9 of every 10 training rows for each value and scores on the 10th; returns the best value and all scores.</summary>
    internal static (float Best, double[] Scores) ChooseOnHeldOut(float[] grid, float[][] trainX, IReadOnlyList<LabeledImage> train,
        Func<float, LbfgsMaximumEntropyMulticlassTrainer.Options> options)
    {
        var fit = Enumerable.Range(0, train.Count).Where(i => i % 10 != 0).ToArray();
        var held = Enumerable.Range(0, train.Count).Where(i => i % 10 == 0).ToArray();
        var scores = grid.Select(v => Probe(Pick(trainX, fit), Pick(train, fit), Pick(trainX, held), Pick(train, held), options(v)).Accuracy).ToArray();
        return (grid[Array.IndexOf(scores, scores.Max())], scores);
    }

    private static T[] Pick<T>(IReadOnlyList<T> items, int[] idx) => [.. idx.Select(i => items[i])];

    internal static (double Accuracy, double Seconds) Probe(float[][] trainX, IReadOnlyList<LabeledImage> train, float[][] testX, IReadOnlyList<LabeledImage> test,
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

    private sealed class Row
    {
        public string Label { get; set; } = "";
        public float[] Features { get; set; } = [];
    }
}
