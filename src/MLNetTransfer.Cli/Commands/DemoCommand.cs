using System.CommandLine;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;

namespace MLNetTransfer.Cli.Commands;

/// <summary>
/// <c>demo</c>: the README's main job — a real CIFAR-10 subset (200 train / 100 test images per class) from the assets
/// folder (or the cache, downloading the official archive on first use; <see cref="Cifar10.Locate"/>), ResNet-18 int8 (ML.NET's
/// own model, from its NuGet package) as a frozen featurizer, L-BFGS logistic regression; prints metrics, writes the report.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "mlnet-transfer-demo" };
        var perClass = new Option<int>("--per-class") { Description = "Training images per class", DefaultValueFactory = _ => 200 };
        var command = new Command("demo", "CIFAR-10 subset + ResNet-18 int8 linear probe: metrics and report") { output, perClass };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var assets = CommonOptions.Resolver(result);
            OutputLocation.RequireWritableFolder(result.GetValue(output)!, "--out");
            var cifar = Cifar10.Locate(assets);
            ConsoleProgress.Info(result.GetValue(CommonOptions.Quiet), $"CIFAR-10: {cifar.Source}");
            var runner = new LinearProbeRunner
            {
                TrainDir = cifar.TrainDir,
                TestDir = cifar.TestDir,
                MaxPerClass = result.GetValue(perClass),
                MaxPerClassTest = 100,
                Seed = 1,
                Backbone = BackboneCatalog.ResNet18Int8, // from its NuGet package: the demo needs no model file
                Assets = assets,
                OutDir = result.GetValue(output)!,
                Quiet = result.GetValue(CommonOptions.Quiet),
            };
            var (model, report) = runner.Run();
            model.Dispose();
            OutputFiles.PrintSummary(report, runner.OutDir);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
