using System.CommandLine;
using MLNetTransfer.Backbones;

namespace MLNetTransfer.Cli;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress bars; results only", Recursive = true };

    public static readonly Option<string?> Assets = new("--assets")
    {
        Description = $"Assets folder (models, datasets); default ${AssetResolver.EnvironmentVariable}, then ~/.cache/mlnettransfer",
        Recursive = true,
    };

    /// <summary>The backbone used when --backbone is not given (the options records' default).</summary>
    public static BackboneInfo DefaultBackbone => new Training.LinearProbeOptions().Backbone;

    public static Option<int> Seed() => new("--seed")
    {
        Description = "Random seed (sampling, splits, training)", DefaultValueFactory = _ => new Training.TransferLearningOptions().Seed,
    };

    public static Option<string> Backbone() => new("--backbone")
    {
        Description = $"{string.Join(" | ", BackboneCatalog.All.Select(b => b.Name))} | PATH.onnx",
        DefaultValueFactory = _ => DefaultBackbone.Name,
    };

    public static Option<string?> FeatureNode() => new("--feature-node") { Description = "Embedding tensor name (required for a PATH.onnx backbone)" };

    /// <summary>--image-size; the description states the command's default (it differs between featurizing and fine-tuning).</summary>
    public static Option<int?> ImageSize(string? description = null) => new("--image-size")
    {
        Description = description ?? $"Side of the square image the network sees (default: the backbone's own, {DefaultBackbone.InputSize} for {DefaultBackbone.Name})",
    };

    public static Option<int?> MaxPerClass() => new("--max-per-class") { Description = "Seeded stratified sample of N images per class from each folder" };

    public static Option<bool> FlipAverage() => new("--flip-average") { Description = "Average each image's embedding with its mirror's (twice the backbone work; better features for natural images)" };

    public static Option<string?> Cache() => new("--cache") { Description = "Embedding cache folder (a second run only reads)" };

    /// <summary>The resolver of --assets; downloads draw a progress bar on stderr unless --quiet.</summary>
    public static AssetResolver Resolver(System.CommandLine.ParseResult result) =>
        new(result.GetValue(Assets)) { Download = DownloadProgressLine.Options(result.GetValue(Quiet)) };

    public static BackboneInfo ResolveBackbone(System.CommandLine.ParseResult result, Option<string> backbone, Option<string?> featureNode) =>
        BackboneCatalog.Resolve(result.GetValue(backbone)!, result.GetValue(featureNode));
}
