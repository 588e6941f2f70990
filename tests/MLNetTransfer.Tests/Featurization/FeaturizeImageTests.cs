using MLNetTransfer.Backbones;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Featurization;
using MLNetTransfer.Training;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Featurization;

/// <summary>The intermediate-output strategy end to end on real CIFAR-10 JPEGs and the real MobileNetV2-int8.</summary>
[Collection("heavy")]
public class FeaturizeImageTests(ITestOutputHelper output)
{
    private static IReadOnlyList<LabeledImage> Cifar(string dir, int perClass) => TestAssets.CifarSubset(dir, perClass);

    private static IDataView View(MLContext ml, IEnumerable<LabeledImage> items) =>
        ml.Data.LoadFromEnumerable(items.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));

    [NeedsAssets]
    [Fact]
    public void Hidden_columns_pass_through_by_index_and_the_readme_chain_with_a_cache_checkpoint_evaluates()
    {
        // MapValueToKey("Label") in place leaves the text Label as a hidden column before the key one. Reading
        // columns by name found only the key column, so ML.NET's cache checkpoint (which reads every column, hidden ones
        // included) failed with "Invalid TValue ... expected UInt32".
        var ml = new MLContext(1);
        var train = View(ml, Cifar(TestAssets.Cifar10Train, 10));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(train).Transform(train);
        var featurized = ml.Transforms.FeaturizeImage("Features", "ImagePath").Fit(keyed).Transform(keyed);
        var hiddenLabel = featurized.Schema[1];
        Assert.True(hiddenLabel.IsHidden);
        Assert.Equal("Label", hiddenLabel.Name);
        using (var cursor = featurized.GetRowCursor(featurized.Schema))
        {
            Assert.True(cursor.MoveNext());
            ReadOnlyMemory<char> text = default;
            cursor.GetGetter<ReadOnlyMemory<char>>(hiddenLabel)(ref text);
            uint key = 0;
            cursor.GetGetter<uint>(featurized.Schema["Label"])(ref key);
            var firstLabel = ml.Data.CreateEnumerable<ImagePathRow>(train, reuseRowObject: false).First().Label;
            Assert.Equal(firstLabel, text.ToString());
            Assert.Equal(1u, key); // MapValueToKey numbers labels by first occurrence
        }

        var scorer = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.FeaturizeImage("Features", "ImagePath"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(scorer.Transform(View(ml, Cifar(TestAssets.Cifar10Test, 5))));
        Assert.True(metrics.MicroAccuracy > 0.2, $"micro-accuracy {metrics.MicroAccuracy:F3} (chance 0.10)");
    }

    [NeedsAssets]
    [Fact]
    public void Two_sessions_scoring_batches_side_by_side_give_each_row_its_own_embedding_in_order()
    {
        // BatchSize 3 over two sessions is batches of 2: 20 batches over 40 images, scored two at a time and handed back
        // in row order.
        var ml = new MLContext(1);
        var view = View(ml, Cifar(TestAssets.Cifar10Test, 4));
        float[][] Features(int sessions)
        {
            using var featurizer = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions
            {
                Backbone = BackboneCatalog.ResNet18Int8, BatchSize = 3, Threads = 2, Sessions = sessions,
            }).Fit(view);
            float[][] rows = [.. featurizer.Transform(view).GetColumn<float[]>("Features")];
            Assert.Equal(sessions, featurizer.Runner.SessionCount);
            return rows;
        }
        var one = Features(1);
        var two = Features(2);
        Assert.Equal(40, two.Length);
        float worst = 0;
        for (int i = 0; i < one.Length; i++) worst = Math.Max(worst, one[i].Zip(two[i], (a, b) => Math.Abs(a - b)).Max());
        output.WriteLine($"max |one session − two sessions| over 40 rows: {worst:G3}");
        // Another image's embedding differs by far more than this (their own distance is printed by the next check).
        Assert.True(worst < 1e-3f, $"rows differ by {worst}: batches came back out of order or were mixed up");
        Assert.True(one[0].Zip(one[1], (a, b) => Math.Abs(a - b)).Max() > 0.1f, "neighbouring images gave the same embedding");

        // By default the backbone's record decides (measured per network), capped at the threads there are.
        Assert.Equal(2, new FeaturizeImageOptions { Backbone = BackboneCatalog.ResNet18MultiBlockInt8, Threads = 2 }.SessionCount);
        Assert.Equal(1, new FeaturizeImageOptions { Backbone = BackboneCatalog.ResNet18Int8, Threads = 1 }.SessionCount);
        Assert.Equal(1, new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Threads = 2 }.SessionCount);

        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Threads = 2, Sessions = 3 }));
        Assert.Contains("Sessions must be between 1 and Threads (2); got 3", tooMany.Message);
    }

    [NeedsAssets]
    [Fact]
    public void Linear_probe_on_real_cifar10_reaches_0_58_and_the_saved_model_predicts_the_same()
    {
        var ml = new MLContext(1);
        var train = Cifar(TestAssets.Cifar10Train, 100);
        var test = Cifar(TestAssets.Cifar10Test, 50);
        Assert.Equal(1000, train.Count);
        Assert.Equal(500, test.Count);

        var model = LinearProbe.Train(ml, train, new LinearProbeOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) });
        var report = ModelEvaluation.Evaluate(ml, model, test);
        output.WriteLine($"linear probe (LBFGS) on 100/class CIFAR-10, 50/class test: accuracy {report.Accuracy:F4}, macroF1 {report.MacroF1:F4}, " +
                         $"train {model.TrainSeconds:F1} s, scoring {report.ImagesPerSecond:F0} img/s");
        Assert.True(report.Accuracy >= 0.58, $"accuracy {report.Accuracy:F4} < 0.58");
        Assert.Equal(10, model.Labels.Count);

        // A test label the model never saw is left out of the metrics and counted, not scored as an error.
        var withUnseen = test.Append(new LabeledImage(test[0].Path, "zebra")).ToList();
        var again = ModelEvaluation.Evaluate(ml, model, withUnseen);
        Assert.Equal("1", again.Details["excludedUnseenLabels"]);
        Assert.Equal(report.Accuracy, again.Accuracy, 9);
        Assert.Equal(500, again.Count);

        using var dir = new TempDir();
        var zip = dir.Combine("model.zip");
        model.Save(ml, zip);
        using var loaded = ImageClassifierModel.Load(new MLContext(2), zip);
        Assert.Equal(model.Labels, loaded.Labels);
        var sample = test.Take(40).Select(t => t.Path).ToList();
        var before = model.Predict(ml, sample);
        var after = loaded.Predict(new MLContext(2), sample);
        for (int i = 0; i < sample.Count; i++)
        {
            Assert.Equal(before[i].Label, after[i].Label);
            for (int c = 0; c < before[i].Scores.Length; c++)
                Assert.Equal(before[i].Scores[c], after[i].Scores[c], 5);
        }
    }

    [NeedsAssets]
    [Fact]
    public void Batched_fast_path_equals_mlnet_row_by_row_chain()
    {
        var ml = new MLContext(1);
        var items = Cifar(TestAssets.Cifar10Test, 7); // 70 images: two full batches of 32 and a partial one
        var view = View(ml, items);
        using var fitted = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) }).Fit(view);
        Assert.Equal(32, fitted.DecodeWidth); // CIFAR is decoded at its own size and upscaled in the graph
        Assert.Equal(224, fitted.NetworkSize);
        var fast = fitted.Transform(view).GetColumn<float[]>("Features").ToList();
        var slow = fitted.MlNetChain.Transform(view).GetColumn<float[]>("Features").ToList();
        Assert.Equal(items.Count, fast.Count);
        float maxDiff = 0;
        for (int i = 0; i < fast.Count; i++)
        {
            Assert.Equal(1280, fast[i].Length);
            for (int j = 0; j < 1280; j++) maxDiff = Math.Max(maxDiff, Math.Abs(fast[i][j] - slow[i][j]));
        }
        output.WriteLine($"max |batched - row-by-row| = {maxDiff}");
        Assert.True(maxDiff <= 1e-4f, $"max diff {maxDiff}");
        Assert.True(fast.Select(f => f.Sum()).Distinct().Count() > 60, "embeddings of different images must differ");
    }

    [NeedsAssets]
    [Fact]
    public void Cache_second_run_only_reads_and_a_corrupt_entry_is_recomputed()
    {
        using var dir = new TempDir();
        var items = Cifar(TestAssets.Cifar10Test, 4).Select(i => i.Path).ToList();
        FeaturizeImageOptions Options() => new() { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root), CacheFolder = dir.Path };
        var first = new ImageFeaturizer(Options()).Featurize(items).ToList();
        var entries = Directory.GetFiles(dir.Path, "*.emb", SearchOption.AllDirectories);
        Assert.Equal(items.Count, entries.Length);

        File.WriteAllBytes(entries[0], File.ReadAllBytes(entries[0])[..100]); // a crash-truncated entry
        var second = new ImageFeaturizer(Options()).Featurize(items).ToList();
        for (int i = 0; i < items.Count; i++) Assert.Equal(first[i], second[i]);
        Assert.Equal(12 + 1280 * sizeof(float), new FileInfo(entries[0]).Length); // detected, recomputed, rewritten whole
    }

    [NeedsAssets]
    [Theory]
    [InlineData("truncated")]
    [InlineData("text")]
    [InlineData("empty")]
    public void Undecodable_image_is_an_error_naming_the_file(string kind)
    {
        using var dir = new TempDir();
        var good = Cifar(TestAssets.Cifar10Test, 1).Select(i => i.Path).ToList();
        var bytes = File.ReadAllBytes(good[0]);
        var bad = dir.Combine($"broken-{kind}.jpg");
        switch (kind)
        {
            case "truncated": File.WriteAllBytes(bad, bytes[..(bytes.Length / 3)]); break; // valid header, body cut
            case "text": File.WriteAllText(bad, "not an image"); break;
            default: File.WriteAllBytes(bad, []); break;
        }
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root), DecodeSize = (32, 32) });
        var ex = Assert.Throws<InvalidDataException>(() => featurizer.Featurize([.. good, bad, .. good]).ToList());
        Assert.Contains($"broken-{kind}.jpg", ex.Message);
    }

    [Fact]
    public void Input_column_that_is_not_text_is_a_schema_error_naming_it()
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(new[] { new NumberRow { ImagePath = 3 } });
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.FeaturizeImage().Fit(view));
        Assert.Contains("'ImagePath'", ex.Message);
        Assert.Contains("expected String", ex.Message);
    }

    private sealed class NumberRow { public float ImagePath { get; set; } }
}
