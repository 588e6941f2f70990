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

    private static (double Accuracy, double Seconds) Probe(float[][] trainX, IReadOnlyList<LabeledImage> train, float[][] testX, IReadOnlyList<LabeledImage> test, float l2)
    {
        var ml = new MLContext(1);
        int dims = trainX[0].Length;
        IDataView View(IReadOnlyList<LabeledImage> items, float[][] x) =>
            ml.Data.LoadFromEnumerable(items.Select((it, i) => new Row { Label = it.Label, Features = x[i] }), Def(dims));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options { L2Regularization = l2 }));
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
