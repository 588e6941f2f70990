using System.CommandLine;
using MLNetTransfer.Insight;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>explain</c>: a Grad-CAM heat map of one image overlaid on it, for a fine-tuned model.</summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "DIR/model.zip written by train --strategy head|partial|full|scratch", Required = true };
        var image = new Argument<string>("image") { Description = "Image file" };
        var cls = new Option<string?>("--class") { Description = "Class to explain (default: the predicted one)" };
        var output = new Option<string>("--out") { Description = "Output PNG", Required = true };
        var command = new Command("explain", "Grad-CAM heat map of an image (where the network looked)") { model, image, cls, output };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var modelPath = result.GetValue(model)!;
            if (!File.Exists(modelPath)) throw new FileNotFoundException($"{modelPath}: model file not found.", modelPath);
            var imagePath = result.GetValue(image)!;
            if (!File.Exists(imagePath)) throw new FileNotFoundException($"{imagePath}: image file not found.", imagePath);
            OutputLocation.RequireWritableFile(result.GetValue(output)!, "--out");
            using var network = TrainedNetwork.Load(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, CommonOptions.Resolver(result));
            var (map, index, probability) = GradCam.Explain(network, imagePath, result.GetValue(cls));
            GradCam.SaveOverlay(imagePath, map, result.GetValue(output)!);
            Console.WriteLine($"{imagePath}: {network.Labels[index]} ({probability:F3}); heat map {Path.GetFullPath(result.GetValue(output)!)}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
