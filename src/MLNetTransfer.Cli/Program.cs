using System.CommandLine;
using MLNetTransfer.Cli;
using MLNetTransfer.Cli.Commands;

var root = new RootCommand("mlnet-transfer: transfer learning for images on ML.NET (ONNX backbones, TorchSharp fine-tuning)");
root.Options.Add(CommonOptions.Quiet);
root.Options.Add(CommonOptions.Assets);
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(FeaturizeCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(InsightCommands.Similar());
root.Subcommands.Add(InsightCommands.ActiveLearn());
root.Subcommands.Add(ExplainCommand.Create());
root.Subcommands.Add(NotebookCommand.Create());
return CliRunner.Run(root, args);
