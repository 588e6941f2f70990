using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using SkiaSharp;

namespace MLNetTransfer.Bench;

/// <summary>
/// Where does frozen-feature accuracy go? On one seeded CIFAR-10 subset, the same L-BFGS probe on embedding variants:
/// MobileNetV2-int8's pooled tensor (the default), its fp32 twin's, flip-averaged, and the two concatenated. Also prints
/// ImageNet top-3 names for a few images per class, a sanity check of the preprocessing.
/// </summary>
internal static class ProbeVariantsBench
{
    public static void Run(string assets, bool quick)
    {
        int perClass = quick ? 100 : 500, testPerClass = quick ? 50 : 200;
        var train = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { MaxPerClass = perClass, Seed = 1 }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = testPerClass, Seed = 1 }).Images;
        var resolver = new AssetResolver(assets);
        var int8Path = resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset);
        var work = Path.Combine(Path.GetTempPath(), "mlnt-probe-variants");
        Directory.CreateDirectory(work);

        // The fp32 twin, as a plain ONNX file the featurizer can take.
        var twinPath = Path.Combine(work, "mobilenetv2-fp32-twin.onnx");
        OnnxDequantizer.ToFloat(OnnxModel.Load(int8Path)).Save(twinPath);
        var twin = BackboneCatalog.FromOnnxFile(twinPath, "464_quantized") with { Name = "mobilenetv2-fp32-twin" };
        var logits = BackboneCatalog.FromOnnxFile(int8Path, "output") with { Name = "mobilenetv2-int8-logits" };
        // Several blocks: pooled outputs of blocks 13 (96 ch), 16 (160), 17 (320) and the last conv (1280), concatenated.
        var multiPath = Path.Combine(work, "mobilenetv2-fp32-multiblock.onnx");
        var multiModel = OnnxModel.Load(twinPath);
        var pooled = new List<string>();
        foreach (var t in new[] { "426_quantized", "452_quantized", "624_quantized" })
        {
            multiModel.Graph.Nodes.Add(MLNetTransfer.Onnx.Proto.NodeProto.Create("GlobalAveragePool", [t], [t + "_gap"], t + "_gap_node"));
            pooled.Add(t + "_gap");
        }
        pooled.Add("464_quantized");
        multiModel.Graph.Nodes.Add(MLNetTransfer.Onnx.Proto.NodeProto.Create("Concat", [.. pooled], ["multiblock"], "multiblock_concat", null,
            MLNetTransfer.Onnx.Proto.AttributeProto.Int("axis", 1)));
        multiModel.Save(multiPath);
        var multi = BackboneCatalog.FromOnnxFile(multiPath, "multiblock") with { Name = "mobilenetv2-fp32-multiblock" };

        SanityTop3(resolver, logits, test, Path.Combine(assets, "models/imagenet-labels.txt"));

        // Flipped copies as PNG (lossless from the decoded JPEG pixels), for flip averaging.
        var flipped = Flip(train.Concat(test).ToList(), Path.Combine(work, "flipped"));

        float[][] Embed(BackboneInfo b, IEnumerable<string> paths, string tag)
        {
            var watch = Stopwatch.StartNew();
            var f = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = b, Assets = resolver, CacheFolder = Path.Combine(work, "cache") });
            var x = f.Featurize(paths).ToArray();
            Console.WriteLine($"  {tag}: {x.Length} embeddings in {watch.Elapsed.TotalSeconds:F1} s");
            return x;
        }
        var (trainPaths, testPaths) = (train.Select(i => i.Path).ToList(), test.Select(i => i.Path).ToList());
        var int8 = (Train: Embed(BackboneCatalog.MobileNetV2Int8, trainPaths, "int8 train"), Test: Embed(BackboneCatalog.MobileNetV2Int8, testPaths, "int8 test"));
        var fp32 = (Train: Embed(twin, trainPaths, "fp32 twin train"), Test: Embed(twin, testPaths, "fp32 twin test"));
        var int8Flip = (Train: Embed(BackboneCatalog.MobileNetV2Int8, trainPaths.Select(p => flipped[p]), "int8 flipped train"),
            Test: Embed(BackboneCatalog.MobileNetV2Int8, testPaths.Select(p => flipped[p]), "int8 flipped test"));
        var fp32Flip = (Train: Embed(twin, trainPaths.Select(p => flipped[p]), "fp32 flipped train"), Test: Embed(twin, testPaths.Select(p => flipped[p]), "fp32 flipped test"));

        var multiX = (Train: Embed(multi, trainPaths, "multi-block train"), Test: Embed(multi, testPaths, "multi-block test"));
        var multiFlip = (Train: Embed(multi, trainPaths.Select(p => flipped[p]), "multi-block flipped train"), Test: Embed(multi, testPaths.Select(p => flipped[p]), "multi-block flipped test"));

        static float[][] Mean(float[][] a, float[][] b) => [.. a.Select((v, i) => v.Zip(b[i], (x, y) => (x + y) / 2).ToArray())];
        static float[][] Concat(float[][] a, float[][] b) => [.. a.Select((v, i) => v.Concat(b[i]).ToArray())];

        Console.WriteLine($"\n| embedding ({train.Count} train / {test.Count} test, L-BFGS) | dims | test accuracy |");
        Console.WriteLine("|---|---|---|");
        Probe("int8 pooled (default)", int8.Train, int8.Test, train, test);
        Probe("fp32 twin pooled", fp32.Train, fp32.Test, train, test);
        Probe("int8, flip-averaged", Mean(int8.Train, int8Flip.Train), Mean(int8.Test, int8Flip.Test), train, test);
        Probe("fp32 twin, flip-averaged", Mean(fp32.Train, fp32Flip.Train), Mean(fp32.Test, fp32Flip.Test), train, test);
        Probe("int8 train + flipped copies as extra rows, flip-averaged test", [.. int8.Train, .. int8Flip.Train], Mean(int8.Test, int8Flip.Test),
            [.. train, .. train], test);
        Probe("int8 ⊕ fp32 twin", Concat(int8.Train, fp32.Train), Concat(int8.Test, fp32.Test), train, test);
        Probe("fp32 twin, blocks 13+16+17+last pooled", multiX.Train, multiX.Test, train, test);
        Probe("fp32 twin multi-block, flip-averaged", Mean(multiX.Train, multiFlip.Train), Mean(multiX.Test, multiFlip.Test), train, test);
        Probe("fp32 twin multi-block, flipped rows + flip-averaged test", [.. multiX.Train, .. multiFlip.Train], Mean(multiX.Test, multiFlip.Test), [.. train, .. train], test);
    }

    private static void Probe(string name, float[][] trainX, float[][] testX, IReadOnlyList<LabeledImage> train, IReadOnlyList<LabeledImage> test)
    {
        var ml = new MLContext(1);
        int dims = trainX[0].Length;
        IDataView View(IReadOnlyList<LabeledImage> items, float[][] x) =>
            ml.Data.LoadFromEnumerable(items.Select((it, i) => new Row { Label = it.Label, Features = x[i] }),
                Def(dims));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options { L2Regularization = 1e-2f }));
        var model = pipeline.Fit(ml.Data.Cache(View(train, trainX)));
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(View(test, testX)));
        Console.WriteLine($"| {name} | {dims} | {metrics.MicroAccuracy:F4} |");
    }

    private static SchemaDefinition Def(int dims)
    {
        var d = SchemaDefinition.Create(typeof(Row));
        d["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dims);
        return d;
    }

    private static Dictionary<string, string> Flip(IReadOnlyList<LabeledImage> items, string folder)
    {
        Directory.CreateDirectory(folder);
        var map = new Dictionary<string, string>();
        foreach (var item in items)
        {
            var target = Path.Combine(folder, item.Label + "-" + Path.GetFileNameWithoutExtension(item.Path) + ".png");
            map[item.Path] = target;
            if (File.Exists(target)) continue;
            using var bitmap = SKBitmap.Decode(item.Path);
            using var surface = new SKBitmap(bitmap.Info);
            using (var canvas = new SKCanvas(surface))
            {
                canvas.Scale(-1, 1, bitmap.Width / 2f, 0);
                canvas.DrawBitmap(bitmap, 0, 0);
            }
            using var data = SKImage.FromBitmap(surface).Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(target, data.ToArray());
        }
        return map;
    }

    private static void SanityTop3(AssetResolver resolver, BackboneInfo logits, IReadOnlyList<LabeledImage> test, string labelsFile)
    {
        var names = File.ReadAllLines(labelsFile);
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
