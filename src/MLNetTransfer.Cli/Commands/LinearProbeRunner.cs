using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary>What <c>train --strategy linear-probe</c> and <c>demo</c> share: load, train, evaluate, write outputs.</summary>
internal sealed class LinearProbeRunner
{
    public required string TrainDir { get; init; }
    public string? TestDir { get; init; }
    public int? MaxPerClass { get; init; }
    public int? MaxPerClassTest { get; init; }
    public int Seed { get; init; } = 1;
    public required BackboneInfo Backbone { get; init; }
    public required AssetResolver Assets { get; init; }
    public ClassicalTrainerInfo Trainer { get; init; } = ClassicalTrainers.Lbfgs;
    public int? ImageSize { get; init; }
    public string? CacheFolder { get; init; }
    public bool FlipAverage { get; init; }
    public required string OutDir { get; init; }
    public bool Quiet { get; init; }

    public (ImageClassifierModel Model, ClassificationReport Report) Run()
    {
        var ml = new MLContext(Seed);
        var (train, test) = LoadData();
        if (train.Select(i => i.Label).Distinct().Count() < 2)
            throw new BadInputException($"{TrainDir}: training needs at least 2 classes with images; found {train.Select(i => i.Label).Distinct().Count()}.");
        Assets.Resolve(Backbone.Asset); // a first-run download draws its own bar before the training bar starts
        ConsoleProgress.Info(Quiet, $"train: {train.Count} images, {train.Select(i => i.Label).Distinct().Count()} classes; test: {test.Count} images; backbone {Backbone.Name}; trainer {Trainer.Name}");

        var model = ConsoleProgress.Run(Quiet, "featurize + train", train.Count, progress =>
            LinearProbe.Train(ml, train, new LinearProbeOptions
            {
                Backbone = Backbone, Assets = Assets, Trainer = Trainer, ImageSize = ImageSize, CacheFolder = CacheFolder, FlipAverage = FlipAverage, Progress = progress,
            }));
        var report = ModelEvaluation.Evaluate(ml, model, test);
        report.Details["strategy"] = "linear-probe";
        report.Details["backbone"] = Backbone.Name;
        report.Details["trainer"] = Trainer.Name;
        if (FlipAverage) report.Details["flipAverage"] = "true";
        report.Details["trainImages"] = train.Count.ToString();
        report.Details["seed"] = Seed.ToString();
        report.Details["trainDir"] = TrainDir;
        report.Details["testDir"] = TestDir ?? $"(20% stratified split of {TrainDir})";
        OutputFiles.Write(ml, OutDir, model, report, $"Linear probe on {Backbone.Name} + {Trainer.Name}");
        return (model, report);
    }

    private (IReadOnlyList<LabeledImage> Train, IReadOnlyList<LabeledImage> Test) LoadData() =>
        TrainingData.Load(TrainDir, TestDir, MaxPerClass, MaxPerClassTest, Seed);
}

/// <summary>Writes model.zip, metrics.json, confusion.png and report.html into one folder.</summary>
internal static class OutputFiles
{
    public static void Write(MLContext ml, string outDir, ImageClassifierModel model, ClassificationReport report, string title)
    {
        Directory.CreateDirectory(outDir);
        model.Save(ml, Path.Combine(outDir, "model.zip"));
        WriteReport(outDir, report, title);
    }

    /// <summary>metrics.json, confusion.png and report.html (the figures first, then the confusion matrix).</summary>
    public static void WriteReport(string outDir, ClassificationReport report, string title, params (string Caption, byte[] Png)[] figures)
    {
        Directory.CreateDirectory(outDir);
        report.Save(Path.Combine(outDir, "metrics.json"));
        var png = Path.Combine(outDir, "confusion.png");
        ConfusionMatrixPlot.SavePng(report.Confusion, png);
        HtmlReport.Save(Path.Combine(outDir, "report.html"), report, title, [.. figures, ("Confusion matrix", File.ReadAllBytes(png))]);
    }

    public static void PrintSummary(ClassificationReport report, string outDir)
    {
        Console.WriteLine($"accuracy {report.Accuracy:F4}  macroF1 {report.MacroF1:F4}  logLoss {report.LogLoss:F4}  ({report.Count} test images)");
        Console.WriteLine($"train {report.TrainSeconds:F1} s  scoring {report.ImagesPerSecond:F0} img/s");
        Console.WriteLine(report.Confusion.ToText());
        Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(outDir, "report.html"))}");
    }
}
