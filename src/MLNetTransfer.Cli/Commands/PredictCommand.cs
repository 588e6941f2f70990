using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>predict</c>: label and score per image, as text or JSON.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model.zip written by train", Required = true };
        var json = new Option<bool>("--json") { Description = "JSON output: [{image, label, score, scores{label: p}}]" };
        var images = new Argument<string[]>("images") { Description = "Image files, or folders of images (flat, or one sub-folder per class)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Predict the class of image files") { model, json, images };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var ml = new MLContext(1);
            using var classifier = ImageClassifierModel.Load(ml, result.GetValue(model)!);
            // A folder stands for the images in it, in the scan's order (class folders, then names).
            var files = result.GetValue(images)!.SelectMany(p => Directory.Exists(p)
                ? TrainingData.Scan(p, null, 1, allowUnlabeled: true).Select(i => i.Path) : [p]).ToList();
            var predictions = classifier.Predict(ml, files);
            if (result.GetValue(json))
            {
                var rows = predictions.Select(p => new
                {
                    image = p.ImagePath, label = p.Label, score = p.Score,
                    scores = classifier.Labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => p.Scores[x.i]),
                });
                Console.WriteLine(JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                foreach (var p in predictions) Console.WriteLine($"{p.ImagePath}\t{p.Label}\t{p.Score:F4}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
