using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Training;

namespace MLNetTransfer.Bench;

/// <summary>
/// Soak: single-image predictions through a pool of PredictionEngines on one saved linear-probe model, from 4 threads,
/// for a fixed time, as a service would serve them. Reports requests/s, p50/p99 latency and RSS at start and end per
/// minute, so a leak shows as drift. Every prediction is checked against the single-threaded answer for its image.
/// </summary>
internal static class SoakBench
{
    public sealed class ImageOutput
    {
        public float[] Score { get; set; } = [];
        public string PredictedLabel { get; set; } = "";
    }

    public static void Run(string assets, TimeSpan duration, int threads = 4)
    {
        var ml = new MLContext(1);
        var train = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { MaxPerClass = 50, Seed = 1 }).Images;
        var model = LinearProbe.Train(ml, train, new LinearProbeOptions { Assets = new AssetResolver(assets) });
        var zip = Path.Combine(Path.GetTempPath(), $"soak-{Environment.ProcessId}.zip");
        model.Save(ml, zip);
        var served = new MLContext(2);
        var loaded = served.Model.Load(zip, out _);
        File.Delete(zip);
        var images = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = 50, Seed = 2 }).Images
            .Select(i => i.Path).ToArray();
        var single = served.Model.CreatePredictionEngine<ImagePathRow, ImageOutput>(loaded);
        var expected = images.Select(p => single.Predict(new ImagePathRow { ImagePath = p }).PredictedLabel).ToArray();

        var pool = new ConcurrentBag<PredictionEngine<ImagePathRow, ImageOutput>>();
        var latencies = new ConcurrentQueue<(double Elapsed, double Ms)>();
        long wrong = 0;
        var clock = Stopwatch.StartNew();
        var rss = new List<(double Minute, long Bytes)> { (0, Process.GetCurrentProcess().WorkingSet64) };
        Console.WriteLine($"soak: {threads} threads, {duration.TotalMinutes:F0} min, {images.Length} distinct images, model trained on {train.Count}");
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            var random = new Random(t);
            while (clock.Elapsed < duration)
            {
                int i = random.Next(images.Length);
                long start = Stopwatch.GetTimestamp();
                var engine = pool.TryTake(out var e) ? e : served.Model.CreatePredictionEngine<ImagePathRow, ImageOutput>(loaded);
                var p = engine.Predict(new ImagePathRow { ImagePath = images[i] });
                pool.Add(engine);
                latencies.Enqueue((clock.Elapsed.TotalSeconds, Stopwatch.GetElapsedTime(start).TotalMilliseconds));
                if (p.PredictedLabel != expected[i]) Interlocked.Increment(ref wrong);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        while (!Task.WaitAll(workers, TimeSpan.FromMinutes(1)))
        {
            GC.Collect();
            rss.Add((clock.Elapsed.TotalMinutes, Process.GetCurrentProcess().WorkingSet64));
            Console.WriteLine($"  {clock.Elapsed.TotalMinutes:F1} min: {latencies.Count} requests, RSS {rss[^1].Bytes / 1048576.0:F0} MB");
        }
        GC.Collect();
        rss.Add((clock.Elapsed.TotalMinutes, Process.GetCurrentProcess().WorkingSet64));

        var all = latencies.ToArray();
        var ms = all.Select(l => l.Ms).Order().ToArray();
        double Percentile(double q) => ms[Math.Min(ms.Length - 1, (int)(q * ms.Length))];
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine();
        Console.WriteLine("| threads | minutes | requests | requests/s | p50 ms | p99 ms | max ms | RSS before MB | RSS at 1 min MB | RSS end MB | wrong answers | engines |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine($"| {threads} | {seconds / 60:F1} | {ms.Length} | {ms.Length / seconds:F1} | {Percentile(0.50):F1} | {Percentile(0.99):F1} | {ms[^1]:F0} | " +
                          $"{rss[0].Bytes / 1048576.0:F0} | {rss[1].Bytes / 1048576.0:F0} | {rss[^1].Bytes / 1048576.0:F0} | {wrong} | {pool.Count} |");
        Console.WriteLine();
        Console.WriteLine("| minute | requests/s in that minute | RSS MB |");
        Console.WriteLine("|---|---|---|");
        for (int m = 1; m < rss.Count; m++)
        {
            var (from, to) = (rss[m - 1].Minute * 60, rss[m].Minute * 60);
            int n = all.Count(l => l.Elapsed >= from && l.Elapsed < to);
            Console.WriteLine($"| {rss[m].Minute:F1} | {n / Math.Max(1e-9, to - from):F1} | {rss[m].Bytes / 1048576.0:F0} |");
        }
    }
}
