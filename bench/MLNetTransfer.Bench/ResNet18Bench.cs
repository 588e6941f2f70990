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

        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        // Both ours and ML.NET's chains are fitted once and then transform the images each round, as an application does;
        // the one-time cost (graph built, int8 rewrite, ONNX Runtime session) is timed apart.
        ITransformer FitOurs(BackboneInfo b, out double setupSeconds)
        {
            var watch = Stopwatch.StartNew();
            var fitted = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Backbone = b, InputColumnName = nameof(PathRow.ImagePath) }).Fit(view);
            fitted.Transform(ml.Data.TakeRows(view, 8)).GetColumn<float[]>("Features").Count(); // session created
            setupSeconds = watch.Elapsed.TotalSeconds;
            return fitted;
        }
        var ours = FitOurs(backbone, out double setupFp32);
        var oursInt8 = FitOurs(BackboneCatalog.ResNet18Int8, out double setupInt8);
        Console.WriteLine($"one-time setup (fit + first batch of 8): resnet18 {setupFp32:F1} s, resnet18-int8 {setupInt8:F1} s");
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

        // Raw ORT on the int8 network: the same pre-decoded tensors into the QDQ graph (no preprocessing in it).
        var int8Model = FeaturizerGraph.BuildFloatNetwork(BackboneCatalog.ResNet18Int8, AssetResolver.Default, "embedding");
        Onnx.OnnxInt8Quantizer.FoldBatchNormalization(int8Model);
        Onnx.OnnxInt8Quantizer.Quantize(int8Model, BackboneCatalog.ResNet18Int8.Int8Ranges!);
        using var int8Session = new InferenceSession(int8Model.ToByteArray(), options);
        int RunRawInt8()
        {
            int per = 3 * 224 * 224;
            using var runOptions = new RunOptions();
            for (int start = 0; start < paths.Count; start += 32)
            {
                int n = Math.Min(32, paths.Count - start);
                using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(tensors, start * per, n * per), [n, 3, 224, 224]);
                using var result = int8Session.Run(runOptions, [backbone.InputName], [input], ["embedding"]);
            }
            return paths.Count;
        }
        RunRawInt8();

        // Our featurizer graph alone (resize + normalization inside), on pixels decoded at 32 px beforehand: tells the
        // graph's cost from the pipeline's (decoding, ML.NET's cursor).
        var small = PreDecodeSmall(paths);
        using var graphOnly = new OnnxBatchRunner(FeaturizerGraph.Build(backbone, AssetResolver.Default, 224));
        int RunGraphOnly()
        {
            int per = 3 * 32 * 32;
            for (int start = 0; start < paths.Count; start += 32)
            {
                int n = Math.Min(32, paths.Count - start);
                graphOnly.Run(small[(start * per)..((start + n) * per)], n, 32, 32);
            }
            return paths.Count;
        }
        RunGraphOnly();

        var seconds = new Dictionary<string, List<double>> { ["ours"] = [], ["ours-int8"] = [], ["mlnet"] = [], ["ort"] = [], ["ort-int8"] = [], ["graph"] = [] };
        for (int r = 0; r < rounds; r++)
        {
            seconds["ours"].Add(Time(() => ours.Transform(view).GetColumn<float[]>("Features").Count()));
            seconds["ours-int8"].Add(Time(() => oursInt8.Transform(view).GetColumn<float[]>("Features").Count()));
            seconds["mlnet"].Add(Time(() => mlnet.Transform(view).GetColumn<float[]>("Features").Count()));
            seconds["ort"].Add(Time(RunRaw));
            seconds["ort-int8"].Add(Time(RunRawInt8));
            seconds["graph"].Add(Time(RunGraphOnly));
        }
        Console.WriteLine($"| pipeline (ResNet-18, 224 px, {count} CIFAR-10 test JPEGs, {rounds} alternating rounds) | img/s per round | best img/s |");
        Console.WriteLine("|---|---|---|");
        void Row(string key, string name) =>
            Console.WriteLine($"| {name} | {string.Join(" / ", seconds[key].Select(s => $"{count / s:F1}"))} | {count / seconds[key].Min():F1} |");
        Row("ours", "MLNetTransfer FeaturizeImage(resnet18): decode at 32 px, resize + BGR + mean image in the graph, batch 32");
        Row("mlnet", "ML.NET LoadImages → ResizeImages(224) → ExtractPixels → DnnFeaturizeImage(ResNet18)");
        Row("ours-int8", "MLNetTransfer FeaturizeImage(resnet18-int8): the same, the network in int8");
        Row("ort", "raw ORT session, fp32 network, pre-decoded and normalized tensors, batch 32 (decode not timed)");
        Row("ort-int8", "raw ORT session, our int8 network, the same tensors (decode not timed)");
        Row("graph", "our fp32 featurizer graph alone (resize + normalization inside), pixels decoded at 32 px beforehand");
        string Ratios(string a, string b) => string.Join(" / ", Enumerable.Range(0, rounds).Select(i => $"{seconds[b][i] / seconds[a][i]:F2}×"));
        Console.WriteLine($"per round: ours / ML.NET {Ratios("ours", "mlnet")}; ours / raw ORT {Ratios("ours", "ort")}; graph alone / raw ORT {Ratios("graph", "ort")}");
        Console.WriteLine($"per round: ours-int8 / ML.NET {Ratios("ours-int8", "mlnet")}; ours-int8 / raw ORT int8 {Ratios("ours-int8", "ort-int8")}; ours-int8 / raw ORT fp32 {Ratios("ours-int8", "ort")}");
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
        foreach (var (name, backbone, flip) in new[] { ("resnet18", BackboneCatalog.ResNet18, false), ("resnet18-int8", BackboneCatalog.ResNet18Int8, false), ("mobilenetv2-int8", BackboneCatalog.MobileNetV2Int8, false),
                     ("resnet18 + flip-average", BackboneCatalog.ResNet18, true),
                     ("resnet18-multiblock-int8 + flip-average", BackboneCatalog.ResNet18MultiBlockInt8, true) }.Where(row => withFlip || !row.Item3))
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

    /// <summary>
    /// Transforms of the pooled features before the L-BFGS probe, on the first 200/class: raw, square root (the features
    /// are averages of ReLU outputs, so ≥ 0), each vector scaled to unit length, both, and per-feature standardization
    /// with the training mean and deviation. L2 chosen on a held-out tenth of train for each.
    /// </summary>
    public static void ProbeTransforms(string assets, bool multiBlock, bool flip, bool int8)
    {
        var backbone = (multiBlock, int8) switch
        {
            (true, true) => BackboneCatalog.ResNet18MultiBlockInt8, (true, false) => BackboneCatalog.ResNet18MultiBlock,
            (false, true) => BackboneCatalog.ResNet18Int8, _ => BackboneCatalog.ResNet18,
        };
        Console.WriteLine($"backbone {backbone.Name}, {backbone.Embedding.Dimension}-d{(flip ? ", flip-averaged" : "")}");
        var train = FirstPerClass(Path.Combine(assets, "datasets/cifar10/train"), 200);
        var test = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), 200);
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, FlipAverage = flip, CacheFolder = Path.Combine(Path.GetTempPath(), "mlnt-resnet18-bench") });
        var watch = Stopwatch.StartNew();
        var trainX = featurizer.Featurize(train.Select(i => i.Path)).ToArray();
        var testX = featurizer.Featurize(test.Select(i => i.Path)).ToArray();
        Console.WriteLine($"featurized {train.Count + test.Count} images in {watch.Elapsed.TotalSeconds:F0} s (0 when cached)");
        float[] grid = [1e-2f, 1e-1f, 1f, 4f];
        Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options Library(float l2) =>
            new() { L1Regularization = 1, L2Regularization = l2, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 };
        float[] Sqrt(float[] v) => [.. v.Select(x => MathF.Sign(x) * MathF.Sqrt(MathF.Abs(x)))];
        float[] Unit(float[] v) { float n = MathF.Sqrt(v.Sum(x => x * x)) + 1e-12f; return [.. v.Select(x => x / n)]; }
        int d = trainX[0].Length;
        var mean = Enumerable.Range(0, d).Select(j => trainX.Average(v => v[j])).ToArray();
        var std = Enumerable.Range(0, d).Select(j => Math.Sqrt(trainX.Average(v => (v[j] - mean[j]) * (v[j] - mean[j]))) + 1e-6).ToArray();
        float[] Standard(float[] v) => [.. v.Select((x, j) => (float)((x - mean[j]) / std[j]))];
        var transforms = new (string Name, Func<float[], float[]> F)[]
        {
            ("raw", v => v), ("sqrt", Sqrt), ("unit length", Unit), ("sqrt, then unit length", v => Unit(Sqrt(v))), ("standardized", Standard),
        };
        Console.WriteLine("| transform | held-out accuracy per L2 (1e-2 / 0.1 / 1 / 4) | chosen L2 | test accuracy |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, f) in transforms)
        {
            var tx = trainX.Select(f).ToArray();
            var sx = testX.Select(f).ToArray();
            var (best, scores) = ProbeVariantsBench.ChooseOnHeldOut(grid, tx, train, Library);
            Console.WriteLine($"| {name} | {string.Join(" / ", scores.Select(a => $"{a:F3}"))} | {best} | {ProbeVariantsBench.Probe(tx, train, sx, test, Library(best)).Accuracy:F4} |");
        }
    }

    /// <summary>
    /// Which units to pool for multi-block features (int8 network, flip-averaged), first 200/class: each variant's L2
    /// chosen on a held-out tenth of train, then scored on test.
    /// </summary>
    public static void ProbeBlocks(string assets)
    {
        var train = FirstPerClass(Path.Combine(assets, "datasets/cifar10/train"), 200);
        var test = FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), 200);
        var variants = new (string Name, string[] Blocks, int Width)[]
        {
            ("128 + 256 (the catalog's)", ["ReLU315_Output_0", "ReLU347_Output_0"], 128 + 256),
            ("64 + 128 + 256", ["ReLU283_Output_0", "ReLU315_Output_0", "ReLU347_Output_0"], 64 + 128 + 256),
            ("128 + 256 + first 512 unit", ["ReLU315_Output_0", "ReLU347_Output_0", "ReLU379_Output_0"], 128 + 256 + 512),
            ("64 + 128 + 256 + first 512 unit", ["ReLU283_Output_0", "ReLU315_Output_0", "ReLU347_Output_0", "ReLU379_Output_0"], 64 + 128 + 256 + 512),
        };
        float[] grid = [1e-1f, 1f, 4f, 16f];
        Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options Library(float l2) =>
            new() { L1Regularization = 1, L2Regularization = l2, OptimizationTolerance = 1e-6f, MaximumNumberOfIterations = 500, HistorySize = 50 };
        Console.WriteLine("| pooled units (+ the 512-d embedding), int8, flip-averaged | dims | held-out accuracy per L2 (0.1 / 1 / 4 / 16) | chosen L2 | test accuracy |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (name, blocks, width) in variants)
        {
            var backbone = BackboneCatalog.ResNet18Int8 with
            {
                Name = "resnet18-int8-blocks-" + blocks.Length,
                Embedding = new EmbeddingNode("Pooling395_Output_0", width + 512) { PooledBlocks = blocks },
            };
            var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, FlipAverage = true, CacheFolder = Path.Combine(Path.GetTempPath(), "mlnt-resnet18-bench") });
            var trainX = featurizer.Featurize(train.Select(i => i.Path)).ToArray();
            var testX = featurizer.Featurize(test.Select(i => i.Path)).ToArray();
            var (best, scores) = ProbeVariantsBench.ChooseOnHeldOut(grid, trainX, train, Library);
            Console.WriteLine($"| {name} | {width + 512} | {string.Join(" / ", scores.Select(a => $"{a:F3}"))} | {best} | {ProbeVariantsBench.Probe(trainX, train, testX, test, Library(best)).Accuracy:F4} |");
        }
    }

    /// <summary>The first <paramref name="perClass"/> files of each class folder, both sorted by ordinal name.</summary>
    internal static List<LabeledImage> FirstPerClass(string root, int perClass) =>
        [.. Directory.GetDirectories(root).Order(StringComparer.Ordinal).SelectMany(d =>
            Directory.GetFiles(d).Order(StringComparer.Ordinal).Take(perClass).Select(f => new LabeledImage(f, Path.GetFileName(d))))];

    private static double Time(Func<int> work)
    {
        GC.Collect();
        var watch = Stopwatch.StartNew();
        work();
        return watch.Elapsed.TotalSeconds;
    }

    private static float[] PreDecodeSmall(List<string> paths)
    {
        var data = new float[paths.Count * 3 * 32 * 32];
        for (int i = 0; i < paths.Count; i++)
        {
            var planes = RawImage.DecodeToPlanes(File.ReadAllBytes(paths[i]), paths[i], 32, 32);
            for (int j = 0; j < planes.Length; j++) data[i * planes.Length + j] = planes[j] / 255f;
        }
        return data;
    }

    internal static float[] PreDecode(List<string> paths, Onnx.ImageNormalization norm)
    {
        const int size = 224;
        int per = 3 * size * size, plane = size * size;
        var offset = norm.OffsetImage(size)!;
        var data = new float[paths.Count * per];
        for (int i = 0; i < paths.Count; i++)
        {
            using var original = SKBitmap.Decode(paths[i]);
            using var bitmap = original.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888), MLNetTransfer.Data.RawImage.Medium);
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
