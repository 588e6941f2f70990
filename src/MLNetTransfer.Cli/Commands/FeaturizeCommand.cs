using System.CommandLine;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Cli.Commands;

/// <summary>
/// <c>featurize</c>: images → Parquet (Path, Label, Embedding). <c>--shard i/n</c> processes a deterministic slice so n
/// machines together cover the folder exactly once.
/// </summary>
internal static class FeaturizeCommand
{
    public static Command Create()
    {
        var images = new Option<string>("--images") { Description = "Images: a folder of images, or one sub-folder per class (the label column)", Required = true };
        var backbone = CommonOptions.Backbone();
        var featureNode = CommonOptions.FeatureNode();
        var output = new Option<string>("--out") { Description = "Output .parquet file", Required = true };
        var shard = new Option<string?>("--shard") { Description = "i/n: process the i-th of n deterministic slices (0-based)" };
        var imageSize = CommonOptions.ImageSize();
        var cache = CommonOptions.Cache();
        var flip = CommonOptions.FlipAverage();
        var command = new Command("featurize", "Write backbone embeddings of images to Parquet") { images, backbone, featureNode, output, shard, imageSize, cache, flip };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var quiet = result.GetValue(CommonOptions.Quiet);
            OutputLocation.RequireWritableFile(result.GetValue(output)!, "--out");
            IReadOnlyList<LabeledImage> items = TrainingData.Scan(result.GetValue(images)!, null, 1, allowUnlabeled: true);
            if (result.GetValue(shard) is { } spec)
            {
                var (index, count) = ParseShard(spec);
                items = Stratified.Shard(items, index, count);
            }
            var featurizer = new ImageFeaturizer(new FeaturizeImageOptions
            {
                Backbone = CommonOptions.ResolveBackbone(result, backbone, featureNode),
                Assets = CommonOptions.Resolver(result),
                NetworkSize = result.GetValue(imageSize),
                CacheFolder = result.GetValue(cache),
                FlipAverage = result.GetValue(flip),
            });
            var watch = System.Diagnostics.Stopwatch.StartNew();
            using var writer = new EmbeddingParquetWriter(result.GetValue(output)!);
            ConsoleProgress.Run(quiet, "featurize", items.Count, progress =>
            {
                int i = 0;
                foreach (var embedding in featurizer.Featurize(items.Select(x => x.Path)))
                {
                    var item = items[i++];
                    writer.Add(new EmbeddingRecord { Path = item.Path, Label = item.Label, Embedding = embedding });
                    progress(i);
                }
                return i;
            });
            writer.Commit();
            Console.WriteLine($"{writer.Count} embeddings → {Path.GetFullPath(result.GetValue(output)!)} ({writer.Count / watch.Elapsed.TotalSeconds:F0} img/s)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal static (int Index, int Count) ParseShard(string spec)
    {
        var parts = spec.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out var i) && int.TryParse(parts[1], out var n) && n > 0 && i >= 0 && i < n)
            return (i, n);
        throw new BadInputException($"--shard {spec}: expected i/n with 0 <= i < n, e.g. 0/4.");
    }
}
