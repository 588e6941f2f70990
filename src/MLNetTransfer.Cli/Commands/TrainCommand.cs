using System.CommandLine;
using MLNetTransfer.Data;
using MLNetTransfer.Training;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>train</c>: folder-per-class images (or <c>--dataset cifar10|mnist</c>) → model.zip, metrics.json, confusion.png, report.html.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var train = new Option<string?>("--train") { Description = "Training images, one folder per class (or --dataset)" };
        var dataset = new Option<string?>("--dataset") { Description = "cifar10 | mnist instead of --train/--test: found in the assets folder or the cache, downloaded on first use" };
        dataset.AcceptOnlyFromAmong("cifar10", "mnist");
        var test = new Option<string?>("--test") { Description = "Test images, one folder per class (default: a 20% stratified split of --train)" };
        var maxPerClass = CommonOptions.MaxPerClass();
        var seed = CommonOptions.Seed();
        var defaults = new TransferLearningOptions();
        // No value means the library's default for the strategy: frozen features and fine-tuning have different ones.
        var backbone = new Option<string?>("--backbone")
        {
            Description = $"{string.Join(" | ", Backbones.BackboneCatalog.All.Select(b => b.Name))} | PATH.onnx " +
                $"(default: {CommonOptions.DefaultBackbone.Name} for linear-probe, {defaults.Backbone.Name} for fine-tuning)",
        };
        var featureNode = CommonOptions.FeatureNode();
        var strategy = new Option<string>("--strategy") { Description = "linear-probe (frozen backbone + classical trainer) | head | partial | full | scratch (TorchSharp fine-tuning)", DefaultValueFactory = _ => "linear-probe" };
        strategy.AcceptOnlyFromAmong("linear-probe", "head", "partial", "full", "scratch");
        var trainer = new Option<string>("--trainer") { Description = "lbfgs | sdca | svm | lightgbm", DefaultValueFactory = _ => new LinearProbeOptions().Trainer.Name };
        trainer.AcceptOnlyFromAmong([.. ClassicalTrainers.All.Select(t => t.Name)]);
        var epochs = new Option<int>("--epochs") { Description = "Epochs (fine-tuning strategies)", DefaultValueFactory = _ => defaults.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "Batch size (fine-tuning strategies)", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Learning rate (fine-tuning strategies)", DefaultValueFactory = _ => defaults.LearningRate };
        var imageSize = CommonOptions.ImageSize(
            $"Side of the square image the network sees (default: {defaults.ImageSize} for fine-tuning; for linear-probe the backbone's own, {CommonOptions.DefaultBackbone.InputSize} for {CommonOptions.DefaultBackbone.Name})");
        var cache = CommonOptions.Cache();
        var flip = CommonOptions.FlipAverage();
        var augment = new Option<string>("--augment") { Description = "Training-batch augmentation (fine-tuning strategies): none (lets head and partial train from cached features) | flip | flip-crop", DefaultValueFactory = _ => "none" };
        augment.AcceptOnlyFromAmong("none", "flip", "flip-crop");
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var continueFrom = new Option<string?>("--continue-from") { Description = "Continue training the network saved in this output folder (fine-tuning strategies)" };

        var command = new Command("train", "Train an image classifier on folder-per-class images")
        {
            train, dataset, test, maxPerClass, seed, backbone, featureNode, strategy, trainer, epochs, batchSize, lr, imageSize, augment, cache, flip, output, continueFrom,
        };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var chosen = result.GetValue(strategy)!;
            var quiet = result.GetValue(CommonOptions.Quiet);
            OutputLocation.RequireWritableFolder(result.GetValue(output)!, "--out");
            var (trainDir, testDir) = Folders(result, train, test, dataset);
            if (chosen != "linear-probe")
            {
                if (result.GetValue(flip))
                    throw new BadInputException("--flip-average applies to --strategy linear-probe only.");
                var transfer = new TransferRunner
                {
                    TrainDir = trainDir,
                    TestDir = testDir,
                    MaxPerClass = result.GetValue(maxPerClass),
                    OutDir = result.GetValue(output)!,
                    Quiet = quiet,
                    Options = new TransferLearningOptions
                    {
                        Strategy = TransferRunner.ParseStrategy(chosen),
                        Backbone = Backbones.BackboneCatalog.Resolve(result.GetValue(backbone) ?? defaults.Backbone.Name, result.GetValue(featureNode)),
                        Assets = CommonOptions.Resolver(result),
                        Epochs = result.GetValue(epochs),
                        BatchSize = result.GetValue(batchSize),
                        LearningRate = result.GetValue(lr),
                        ImageSize = result.GetValue(imageSize) ?? defaults.ImageSize,
                        Augmentation = result.GetValue(augment) switch { "flip" => Augment.Flip, "flip-crop" => Augment.FlipAndCrop, _ => Augment.None },
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
                TrainDir = trainDir,
                TestDir = testDir,
                MaxPerClass = result.GetValue(maxPerClass),
                Seed = result.GetValue(seed),
                Backbone = Backbones.BackboneCatalog.Resolve(result.GetValue(backbone) ?? CommonOptions.DefaultBackbone.Name, result.GetValue(featureNode)),
                Assets = CommonOptions.Resolver(result),
                Trainer = ClassicalTrainers.Get(result.GetValue(trainer)!),
                ImageSize = result.GetValue(imageSize),
                CacheFolder = result.GetValue(cache),
                FlipAverage = result.GetValue(flip),
                OutDir = result.GetValue(output)!,
                Quiet = quiet,
            };
            var (model, report) = runner.Run();
            model.Dispose();
            OutputFiles.PrintSummary(report, runner.OutDir);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The train and test folders: --train/--test as given, or a named dataset's (located or downloaded).</summary>
    private static (string Train, string? Test) Folders(ParseResult result, Option<string?> train, Option<string?> test, Option<string?> dataset)
    {
        var name = result.GetValue(dataset);
        if (name is null)
            return (result.GetValue(train) ?? throw new BadInputException("train needs --train DIR (folder-per-class images) or --dataset cifar10|mnist."), result.GetValue(test));
        if (result.GetValue(train) is not null || result.GetValue(test) is not null)
            throw new BadInputException("--dataset brings its own train and test splits: drop --train/--test, or drop --dataset.");
        var assets = CommonOptions.Resolver(result);
        var folders = name == "mnist" ? Mnist.LocateImageFolders(assets) : Cifar10.Locate(assets);
        ConsoleProgress.Info(result.GetValue(CommonOptions.Quiet), $"{name}: {folders.Source}");
        return (folders.TrainDir, folders.TestDir);
    }
}
