using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>train --strategy head|partial|full|scratch</c>: fine-tuning through <see cref="TransferLearningTrainer"/>.</summary>
internal sealed class TransferRunner
{
    public required string TrainDir { get; init; }
    public string? TestDir { get; init; }
    public int? MaxPerClass { get; init; }
    public required TransferLearningOptions Options { get; init; }
    public required string OutDir { get; init; }
    public bool Quiet { get; init; }

    public static TransferStrategy ParseStrategy(string name) => name switch
    {
        "head" => TransferStrategy.HeadOnly,
        "partial" => TransferStrategy.PartialRetrain,
        "full" => TransferStrategy.FullFineTune,
        "scratch" => TransferStrategy.Scratch,
        _ => throw new BadInputException($"--strategy {name}: expected linear-probe, head, partial, full or scratch."),
    };

    public ClassificationReport Run()
    {
        var ml = new MLContext(Options.Seed);
        var (train, test) = TrainingData.Load(TrainDir, TestDir, MaxPerClass, null, Options.Seed);
        int classes = train.Select(i => i.Label).Distinct().Count();
        if (classes < 2) throw new BadInputException($"{TrainDir}: training needs at least 2 classes with images; found {classes}.");
        var view = ml.Data.LoadImages(train);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Fit(view).Transform(view);
        var workspace = Options.WorkspacePath ?? Path.Combine(OutDir, "workspace");
        ConsoleProgress.Info(Quiet, $"train: {train.Count} images, {classes} classes; test: {test.Count}; strategy {Options.Strategy}; " +
            $"{(Options.Strategy == TransferStrategy.Scratch ? "scratch CNN" : Options.Backbone.Name)} at {Options.ImageSize} px, {Options.Epochs} epochs");
        long total = (long)Options.Epochs * train.Count;
        var fitted = ConsoleProgress.Run(Quiet, "train", total, progress => new TransferLearningTrainer(Options with
        {
            WorkspacePath = workspace,
            Progress = (epoch, done, _) => progress(epoch * (long)train.Count + done),
            Log = Console.Error.WriteLine,
            ResumeCallback = done => Console.Error.WriteLine($"resuming: {done} of {Options.Epochs} epochs were done (checkpoint in {workspace})"),
            MetricsCallback = m => ConsoleProgress.Info(Quiet || !Console.IsOutputRedirected,
                $"epoch {m.Epoch + 1} ({m.Phase}): loss {m.TrainLoss:F4} acc {m.TrainAccuracy:F3} val_loss {m.ValidationLoss:F4} val_acc {m.ValidationAccuracy:F3} {m.ImagesPerSecond:F0} img/s"),
        }).Fit(keyed));
        var run = fitted.Run;
        // Like the linear-probe model.zip (and ML.NET's samples): the saved chain ends with the text label, so a plain app's
        // PredictionEngine with `string PredictedLabel` binds; Score stays the known-size probability vector Evaluate needs.
        var chain = fitted.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(fitted.Transform(keyed)));
        using var model = new ImageClassifierModel(chain, keyed.Schema) { TrainSeconds = run.TrainSeconds };
        var report = ModelEvaluation.Evaluate(ml, model, test);
        report.Details["strategy"] = Options.Strategy.ToString();
        report.Details["backbone"] = Options.Strategy == TransferStrategy.Scratch ? "scratch-cnn" : Options.Backbone.Name;
        report.Details["imageSize"] = Options.ImageSize.ToString();
        report.Details["epochs"] = run.History.Count.ToString();
        report.Details["trainImages"] = train.Count.ToString();
        if (run.StopReason is { } reason) report.Details["stopped"] = reason;

        Directory.CreateDirectory(OutDir);
        model.Save(ml, Path.Combine(OutDir, "model.zip"));
        run.Onnx.Save(Path.Combine(OutDir, "model.onnx"));
        run.Network.Save(OutDir, Options); // for `explain` (Grad-CAM)
        var csv = Path.Combine(workspace, "metrics.csv");
        if (File.Exists(csv)) IO.AtomicFile.WriteAllBytes(Path.Combine(OutDir, "metrics.csv"), File.ReadAllBytes(csv));
        var curves = TrainingCurvesPlot.Render(run.History, Path.Combine(OutDir, "curves.png"));
        OutputFiles.WriteReport(OutDir, report, $"{Options.Strategy} on {report.Details["backbone"]}", ("Training curves", curves));
        if (run.StopReason is { } why) Console.Error.WriteLine($"note: {why}");
        return report;
    }
}
