using System.CommandLine;
using Microsoft.ML;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>evaluate</c>: a saved model on folder-per-class test images → metrics.json (+ confusion.png, report.html).</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model.zip written by train", Required = true };
        var test = new Option<string>("--test") { Description = "Test images, one folder per class", Required = true };
        var maxPerClass = CommonOptions.MaxPerClass();
        var seed = CommonOptions.Seed();
        var output = new Option<string?>("--out") { Description = "Output folder (default: the model's folder)" };
        var command = new Command("evaluate", "Evaluate a saved model on labelled images") { model, test, maxPerClass, seed, output };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var ml = new MLContext(result.GetValue(seed));
            var modelPath = result.GetValue(model)!;
            var outDir = result.GetValue(output) ?? Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
            OutputLocation.RequireWritableFolder(outDir, "--out");
            using var classifier = ImageClassifierModel.Load(ml, modelPath);
            var images = TrainingData.Scan(result.GetValue(test)!, result.GetValue(maxPerClass), result.GetValue(seed));
            // Unlike train (where an unseen test class is an error), an existing model may meet classes it was never
            // trained on; they are reported and left out of the metrics.
            var unseen = images.Where(t => !classifier.Labels.Contains(t.Label)).Select(t => t.Label).Distinct().ToList();
            if (unseen.Count > 0) Console.Error.WriteLine($"warning: test labels absent from training are left out of the metrics: {string.Join(", ", unseen)}");
            var report = ModelEvaluation.Evaluate(ml, classifier, images);
            report.Details["model"] = Path.GetFullPath(modelPath);
            report.Details["testDir"] = result.GetValue(test)!;
            OutputFiles.WriteReport(outDir, report, $"Evaluation of {Path.GetFileName(modelPath)}");
            OutputFiles.PrintSummary(report, outDir);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
