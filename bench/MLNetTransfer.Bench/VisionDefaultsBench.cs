using System.Diagnostics;
using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;
using MLNetTransfer.Vision;

namespace MLNetTransfer.Bench;

/// <summary>
/// The Vision drop-in's default call (ML.NET's defaults: 10% held out, early stopping on accuracy, ExponentialLRDecay,
/// batch 10) against the library's linear probe (LinearProbe.Train: L-BFGS with tuned L2) on the same frozen features,
/// per candidate backbone, on CIFAR-10 (first 200 images per class, seed 1; the 10,000-image test set's first 100 per
/// class) and photos-dev (its train/test split). Prints accuracy and fit seconds.
/// </summary>
internal static class VisionDefaultsBench
{
    private sealed class Row
    {
        public byte[] Image = [];
        public string Label = "";
    }

    public static void Run(string assets, bool quick)
    {
        var sets = new (string Name, IReadOnlyList<LabeledImage> Train, IReadOnlyList<LabeledImage> Test)[]
        {
            ("CIFAR-10 200/class", Scan(Path.Combine(assets, "datasets/cifar10/train"), quick ? 50 : 200), Scan(Path.Combine(assets, "datasets/cifar10/test"), quick ? 20 : 100)),
            ("photos-dev", Scan(Path.Combine(assets, "datasets/photos-dev/train"), quick ? 30 : null), Scan(Path.Combine(assets, "datasets/photos-dev/test"), null)),
        };
        string[] backbones = Candidates();
        // VISION_SETS=cifar or =photos runs one of the two; VISION_STANDARDIZE=1 trains the drop-in on standardized values.
        var only = Environment.GetEnvironmentVariable("VISION_SETS");
        if (only is not null) sets = [.. sets.Where(s => s.Name.StartsWith(only, StringComparison.OrdinalIgnoreCase))];
        Console.WriteLine("| data | backbone | drop-in default | fit s | linear probe | fit s |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, train, test) in sets)
            foreach (var backbone in backbones)
            {
                var (dropIn, dropInSeconds) = DropIn(train, test, BackboneCatalog.Get(backbone));
                var (probe, probeSeconds) = Probe(train, test, BackboneCatalog.Get(backbone));
                Console.WriteLine($"| {name} ({train.Count}/{test.Count}) | {backbone} | {dropIn:F4} | {dropInSeconds:F0} | {probe:F4} | {probeSeconds:F0} |");
            }
    }

    private static string[] Candidates() =>
        Environment.GetEnvironmentVariable("VISION_BACKBONES")?.Split(',') ?? ["resnet18-int8", "resnet18", "mobilenetv2-int8", "mobilenetv2-dequantized"];

    private static IReadOnlyList<LabeledImage> Scan(string folder, int? perClass) =>
        ImageFolder.Scan(folder, new ImageFolderOptions { MaxPerClass = perClass, Seed = 1 }).Images;

    private static (double Accuracy, double Seconds) DropIn(IReadOnlyList<LabeledImage> train, IReadOnlyList<LabeledImage> test, BackboneInfo backbone)
    {
        var ml = new MLContext(seed: 1);
        IDataView Load(IReadOnlyList<LabeledImage> images) => ml.Data.LoadFromEnumerable(images.Select(i => new Row { Image = File.ReadAllBytes(i.Path), Label = i.Label }));
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(train));
        var clock = Stopwatch.StartNew();
        var options = new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "Image", LabelColumnName = "Label", BackboneOverride = backbone,
            StandardizeOverride = Environment.GetEnvironmentVariable("VISION_STANDARDIZE") == "1" ? true : null,
        };
        using var model = ml.MulticlassClassification.Trainers.ImageClassification(options).Fit(ml.Data.ShuffleRows(keys.Transform(Load(train)), seed: 1));
        double seconds = clock.Elapsed.TotalSeconds;
        return (ml.MulticlassClassification.Evaluate(model.Transform(keys.Transform(Load(test)))).MicroAccuracy, seconds);
    }

    private static (double Accuracy, double Seconds) Probe(IReadOnlyList<LabeledImage> train, IReadOnlyList<LabeledImage> test, BackboneInfo backbone)
    {
        var ml = new MLContext(seed: 1);
        var clock = Stopwatch.StartNew();
        using var model = LinearProbe.Train(ml, train, new LinearProbeOptions { Backbone = backbone });
        double seconds = clock.Elapsed.TotalSeconds;
        return (ModelEvaluation.Evaluate(ml, model, test).Accuracy, seconds);
    }
}
