using MLNetTransfer.Backbones;
using Microsoft.ML;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Tests.Featurization;

/// <summary>
/// Child-process scenario: two threads run batches through one <see cref="OnnxBatchRunner"/> while a third thread
/// forces garbage collections and runs finalizers as fast as it can, the way a busy trainer or a loaded machine
/// triggers GCs in the middle of a native ORT call. Any managed object ORT still uses that the GC can reclaim shows
/// up as a native crash within seconds. Prints "runs N mismatches M gcs G"; exit 0 when every output was identical.
/// </summary>
internal static class OnnxBatchRunnerStress
{
    public static int Run(string[] args)
    {
        double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 8;
        using var runner = new OnnxBatchRunner(FeaturizerGraphFor(TestAssets.Cifar10Train), threads: 2);
        const int n = 8, side = 32;
        var pixels = new float[n * 3 * side * side];
        var random = new Random(1);
        for (int i = 0; i < pixels.Length; i++) pixels[i] = random.NextSingle();
        var reference = runner.Run(pixels, n, side, side);

        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long gcs = 0, runs = 0, mismatches = 0;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); gcs++; }
        });
        collector.Start();
        Parallel.For(0, 2, _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                var output = runner.Run(pixels, n, side, side);
                Interlocked.Increment(ref runs);
                if (!output.AsSpan().SequenceEqual(reference)) Interlocked.Increment(ref mismatches);
            }
        });
        collector.Join();
        Console.WriteLine($"runs {runs} mismatches {mismatches} gcs {gcs}");
        return mismatches == 0 && runs > 0 ? 0 : 1;
    }

    /// <summary>The default featurizer graph (MobileNetV2-int8, resize and normalization inside), fitted on a few images.</summary>
    internal static byte[] FeaturizerGraphFor(string imageFolder)
    {
        var ml = new MLContext(1);
        var images = ImageFolder.Scan(imageFolder, new ImageFolderOptions { MaxPerClass = 1, Seed = 1 }).Images;
        var data = ml.Data.LoadFromEnumerable(images.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));
        using var featurizer = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) }).Fit(data);
        return featurizer.Graph;
    }
}
