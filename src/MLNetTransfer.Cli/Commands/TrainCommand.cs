using System.CommandLine;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>train</c>: folder-per-class images → model.zip, metrics.json, confusion.png, report.html.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var train = new Option<string>("--train") { Description = "Training images, one folder per class", Required = true };
        var test = new Option<string?>("--test") { Description = "Test images, one folder per class (default: a 20% stratified split of --train)" };
        var maxPerClass = CommonOptions.MaxPerClass();
        var seed = CommonOptions.Seed();
        var backbone = CommonOptions.Backbone();
        var featureNode = CommonOptions.FeatureNode();
        var strategy = new Option<string>("--strategy") { Description = "linear-probe (frozen backbone + classical trainer) | head | partial | full | scratch (TorchSharp fine-tuning)", DefaultValueFactory = _ => "linear-probe" };
        strategy.AcceptOnlyFromAmong("linear-probe", "head", "partial", "full", "scratch");
        var trainer = new Option<string>("--trainer") { Description = "lbfgs | sdca | svm | lightgbm", DefaultValueFactory = _ => "lbfgs" };
        trainer.AcceptOnlyFromAmong([.. ClassicalTrainers.All.Select(t => t.Name)]);
        var epochs = new Option<int>("--epochs") { Description = "Epochs (fine-tuning strategies)", DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { Description = "Batch size (fine-tuning strategies)", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "Learning rate (fine-tuning strategies)", DefaultValueFactory = _ => 1e-3 };
        var imageSize = CommonOptions.ImageSize();
        var cache = CommonOptions.Cache();
        var flip = CommonOptions.FlipAverage();
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var continueFrom = new Option<string?>("--continue-from") { Description = "Continue training the network saved in this output folder (fine-tuning strategies)" };

        var command = new Command("train", "Train an image classifier on folder-per-class images")
        {
            train, test, maxPerClass, seed, backbone, featureNode, strategy, trainer, epochs, batchSize, lr, imageSize, cache, flip, output, continueFrom,
        };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var chosen = result.GetValue(strategy)!;
            var quiet = result.GetValue(CommonOptions.Quiet);
            OutputLocation.RequireWritableFolder(result.GetValue(output)!, "--out");
            if (chosen != "linear-probe")
            {
                if (result.GetValue(flip))
                    throw new BadInputException("--flip-average applies to --strategy linear-probe only.");
                var transfer = new TransferRunner
                {
                    TrainDir = result.GetValue(train)!,
                    TestDir = result.GetValue(test),
                    MaxPerClass = result.GetValue(maxPerClass),
                    OutDir = result.GetValue(output)!,
                    Quiet = quiet,
                    Options = new TransferLearningOptions
                    {
                        Strategy = TransferRunner.ParseStrategy(chosen),
                        Backbone = CommonOptions.ResolveBackbone(result, backbone, featureNode),
                        Assets = CommonOptions.Resolver(result),
                        Epochs = result.GetValue(epochs),
                        BatchSize = result.GetValue(batchSize),
                        LearningRate = result.GetValue(lr),
                        ImageSize = result.GetValue(imageSize) ?? 96,
                        Seed = result.GetValue(seed),
                        ContinueFrom = result.GetValue(continueFrom),
                    },
                };
                var fineTuned = transfer.Run();
                OutputFiles.PrintSummary(fineTuned, transfer.OutDir);
                return ExitCodes.Ok;
            }
            var runner = new LinearProbeRunner
            {
                TrainDir = result.GetValue(train)!,
                TestDir = result.GetValue(test),
                MaxPerClass = result.GetValue(maxPerClass),
                Seed = result.GetValue(seed),
                Backbone = CommonOptions.ResolveBackbone(result, backbone, featureNode),
                Assets = CommonOptions.Resolver(result),
                Trainer = ClassicalTrainers.Get(result.GetValue(trainer)!),
                ImageSize = result.GetValue(imageSize),
                CacheFolder = result.GetValue(cache),
                FlipAverage = result.GetValue(flip),
                OutDir = result.GetValue(output)!,
                Quiet = quiet,
            };
            var (_, report) = runner.Run();
            OutputFiles.PrintSummary(report, runner.OutDir);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
