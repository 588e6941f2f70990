using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Training;

namespace MLNetTransfer.Bench;

/// <summary>
/// The intermediate-output strategy on all of CIFAR-10 (50,000 train / 10,000 test): featurize once (disk cache),
/// then time each classical trainer's fit and report test accuracy.
/// </summary>
internal static class CifarFullBench
{
    public static void Run(string assets, bool quick)
    {
        int? perClass = quick ? 500 : null;
        var train = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { MaxPerClass = perClass, Seed = 1 }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = quick ? 200 : null, Seed = 1 }).Images;
        var cache = Path.Combine(Path.GetTempPath(), "mlnettransfer-bench-cache");
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Assets = new AssetResolver(assets), CacheFolder = cache });

        var watch = Stopwatch.StartNew();
        var trainX = featurizer.Featurize(train.Select(i => i.Path)).ToList();
        var testX = featurizer.Featurize(test.Select(i => i.Path)).ToList();
        Console.WriteLine($"featurized {train.Count}+{test.Count} images in {watch.Elapsed.TotalSeconds:F1} s (cache {cache})");

        var ml = new MLContext(1);
        IDataView View(IReadOnlyList<LabeledImage> items, List<float[]> x) =>
            ml.Data.LoadFromEnumerable(items.Select((it, i) => new Row { Label = it.Label, Features = x[i] }),
                SchemaDefinition.Create(typeof(Row)).Also(d => d["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 1280)));
        var trainView = ml.Data.Cache(View(train, trainX));
        var testView = View(test, testX);
        Console.WriteLine("| trainer | train rows | fit seconds | test accuracy |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var trainer in quick ? ClassicalTrainers.All : [ClassicalTrainers.Lbfgs])
        {
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.NormalizeMinMax("Features"))
                .Append(trainer.Create(ml, "Features", "Label"));
            watch.Restart();
            var model = pipeline.Fit(trainView);
            var fit = watch.Elapsed.TotalSeconds;
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(testView));
            Console.WriteLine($"| {trainer.Name} | {train.Count} | {fit:F1} | {metrics.MicroAccuracy:F4} |");
        }
    }

    private sealed class Row
    {
        public string Label { get; set; } = "";
        public float[] Features { get; set; } = [];
    }

    private static T Also<T>(this T value, Action<T> action) { action(value); return value; }
}
