using MLNetTransfer.Backbones;
using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Tests.Cli;
using MLNetTransfer.Training;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Reliability;

/// <summary>
/// One fitted model shared the way a service shares it (a pool of PredictionEngines, <c>Transform</c> from several
/// threads) and several processes featurizing at once, with the cores kept busy: results equal the single-threaded ones.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class ConcurrencyTests(ITestOutputHelper output)
{
    // What a service's request class holds: the image only (a fitted model needs no label to predict).
    public sealed class ImageInput { public string ImagePath { get; set; } = ""; }

    public sealed class ImageOutput
    {
        public float[] Score { get; set; } = [];
        public string PredictedLabel { get; set; } = "";
    }

    [Fact]
    public void A_pool_of_prediction_engines_on_one_saved_model_gives_single_threaded_results_from_8_threads()
    {
        var ml = new MLContext(1);
        var model = LinearProbe.Train(ml, TestAssets.CifarSubset(TestAssets.Cifar10Train, 10), new LinearProbeOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) });
        using var dir = new TempDir();
        model.Save(ml, dir.Combine("model.zip"));
        var served = new MLContext(2);
        var loaded = served.Model.Load(dir.Combine("model.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        var images = TestAssets.CifarSubset(TestAssets.Cifar10Test, 20).Select(i => i.Path).ToArray(); // 200 images

        var single = served.Model.CreatePredictionEngine<ImageInput, ImageOutput>(loaded);
        var expected = images.Select(p => single.Predict(new ImageInput { ImagePath = p })).ToArray();
        Assert.Equal(10, expected[0].Score.Length);
        Assert.InRange(expected[0].Score.Sum(), 0.999f, 1.001f);
        Assert.True(expected.Select(e => e.PredictedLabel).Distinct().Count() >= 5, "a working model predicts several classes on 200 test images");

        // PredictionEngine is not thread-safe: a pool hands each request an engine no other thread is using.
        var pool = new ConcurrentBag<PredictionEngine<ImageInput, ImageOutput>>();
        int mismatches = 0, predictions = 0;
        using (new BusyCores(2))
        {
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
            {
                for (int k = 0; k < images.Length; k++)
                {
                    int i = (k + worker * 25) % images.Length;
                    var engine = pool.TryTake(out var e) ? e : served.Model.CreatePredictionEngine<ImageInput, ImageOutput>(loaded);
                    var p = engine.Predict(new ImageInput { ImagePath = images[i] });
                    pool.Add(engine);
                    Interlocked.Increment(ref predictions);
                    if (p.PredictedLabel != expected[i].PredictedLabel || !p.Score.AsSpan().SequenceEqual(expected[i].Score))
                        Interlocked.Increment(ref mismatches);
                }
            });
        }
        output.WriteLine($"{predictions} predictions from 8 threads with {pool.Count} engines, {mismatches} mismatches");
        Assert.Equal(8 * 200, predictions);
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void Transform_on_one_fitted_model_from_several_threads_equals_the_single_threaded_scores()
    {
        var ml = new MLContext(1);
        var model = LinearProbe.Train(ml, TestAssets.CifarSubset(TestAssets.Cifar10Train, 10), new LinearProbeOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) });
        var test = TestAssets.CifarSubset(TestAssets.Cifar10Test, 6);
        var data = ml.Data.LoadFromEnumerable(test.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));
        float[][] Scores() => [.. model.Model.Transform(data).GetColumn<float[]>("Score")];
        var expected = Scores();
        Assert.Equal(60, expected.Length);

        float[][][] results;
        using (new BusyCores(2))
            results = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ => Scores()).ToArray();
        foreach (var run in results)
            for (int i = 0; i < expected.Length; i++)
                Assert.Equal(expected[i], run[i]);
    }

    [Fact]
    public void Three_processes_featurizing_the_same_images_at_once_write_the_single_process_embeddings()
    {
        using var dir = new TempDir();
        var images = dir.Combine("images");
        foreach (var img in TestAssets.CifarSubset(TestAssets.Cifar10Train, 15))
        {
            Directory.CreateDirectory(Path.Combine(images, img.Label));
            File.Copy(img.Path, Path.Combine(images, img.Label, Path.GetFileName(img.Path)));
        }
        string[] Args(string name) => ["featurize", "--images", images, "--out", dir.Combine(name), "--quiet"];
        var alone = CliProcess.Run(Args("alone.parquet"));
        Assert.True(alone.ExitCode == 0, alone.Stderr);

        var running = Enumerable.Range(0, 3).Select(i => CliProcess.Start(Args($"p{i}.parquet"))).ToList();
        var results = running.Select(CliProcess.Wait).ToList();
        var expected = EmbeddingParquetWriter.ReadAll(dir.Combine("alone.parquet"));
        Assert.Equal(150, expected.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(results[i].ExitCode == 0, $"process {i}: {TestChild.Describe(results[i].ExitCode)}: {results[i].Stderr}");
            var got = EmbeddingParquetWriter.ReadAll(dir.Combine($"p{i}.parquet"));
            Assert.Equal(expected.Select(r => r.Path), got.Select(r => r.Path));
            for (int r = 0; r < expected.Count; r++) Assert.Equal(expected[r].Embedding, got[r].Embedding);
        }
    }
}
