using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNetTransfer.Vision;
using Xunit.Abstractions;
using static Microsoft.ML.Transforms.ValueToKeyMappingEstimator;

namespace MLNetTransfer.Tests.Vision;

/// <summary>
/// Apps written the way Microsoft.ML.Vision's tests and samples use ImageClassificationTrainer, with only the using changed
/// to MLNetTransfer.Vision, must behave as ML.NET's: the accuracy floors ML.NET's own tests assert on a small set of real
/// photos, loss falling every epoch under its schedulers, early stopping that keeps the last weights, undecodable images
/// skipped, cache files under the names the options give, every architecture training, and ML.NET's output schema.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class ImageClassificationTrainerTests(ITestOutputHelper output)
{
    public class ImageData
    {
        public string ImagePath = "";
        public string Label = "";
    }

    public class InMemoryImageData
    {
        public byte[] Image = [];
        public string Label = "";
    }

    public class ImagePathOnly
    {
        public string ImagePath = "";
    }

    public class ImagePrediction
    {
        public float[] Score = [];
        public string PredictedLabel = "";
    }

    private static readonly string[] PhotoClasses = ["dress", "hat", "pants", "shoes", "skirt"];

    /// <summary>
    /// ML.NET's test recipe on 5 × 40 real photos (photos-dev's training folders: its test folders hold fewer than 40 of
    /// some classes): rows shuffled (seed 1), Label to key, an 80/20 split (seed 1), and the test part with its image
    /// bytes loaded as the validation set.
    /// </summary>
    private static (IDataView Train, IDataView Test, IDataView Validation, string Folder) PhotosSplit(MLContext ml)
    {
        var folder = TestAssets.PhotosDevTrain;
        var rows = TestAssets.PhotosSubset(folder, 40, PhotoClasses).Select(i => new ImageData { ImagePath = i.Path, Label = i.Label });
        var all = ml.Data.ShuffleRows(ml.Data.LoadFromEnumerable(rows), seed: 1);
        all = ml.Transforms.Conversion.MapValueToKey("Label").Fit(all).Transform(all);
        var split = ml.Data.TrainTestSplit(all, testFraction: 0.2, seed: 1);
        var validation = ml.Transforms.LoadRawImageBytes("Image", folder, "ImagePath").Fit(split.TestSet).Transform(split.TestSet);
        return (split.TrainSet, split.TestSet, validation, folder);
    }

    private static ImageClassificationTrainer.Options Explicit(IDataView validation) => new()
    {
        FeatureColumnName = "Image",
        LabelColumnName = "Label",
        Arch = ImageClassificationTrainer.Architecture.ResnetV2101,
        Epoch = 50,
        BatchSize = 10,
        LearningRate = 0.01f,
        TestOnTrainSet = false,
        ValidationSet = validation,
    };

    private static (ITransformer Model, MulticlassClassificationMetrics Metrics) FitAndEvaluate(MLContext ml, ImageClassificationTrainer.Options options,
        IDataView train, IDataView test, string folder)
    {
        var model = ml.Transforms.LoadRawImageBytes("Image", folder, "ImagePath")
            .Append(ml.MulticlassClassification.Trainers.ImageClassification(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel", "PredictedLabel"))
            .Fit(train);
        return (model, ml.MulticlassClassification.Evaluate(model.Transform(test)));
    }

    /// <summary>The messages the trainer writes to <paramref name="ml"/>'s log, from ML.NET's source name for it.</summary>
    private static List<string> TrainerLog(MLContext ml)
    {
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source == "ImageClassificationTrainer; ImageClassificationTrainer") lock (log) log.Add(e.RawMessage); };
        return log;
    }

    private static ImageClassificationTransformer Trained(ITransformer model) =>
        ((IEnumerable<ITransformer>)model).OfType<ImageClassificationTransformer>().Single();

    /// <summary>Score: ML.NET's 1-D known-size vector with the class names as slot names; PredictedLabel text after MapKeyToValue.</summary>
    private static void AssertMlNetScoreColumns(DataViewSchema schema, IReadOnlyList<string> classes)
    {
        var score = schema["Score"];
        var type = Assert.IsType<VectorDataViewType>(score.Type);
        Assert.Equal(NumberDataViewType.Single, type.ItemType);
        Assert.Equal([classes.Count], type.Dimensions.ToArray());
        VBuffer<ReadOnlyMemory<char>> names = default;
        score.GetSlotNames(ref names);
        Assert.Equal(classes, names.DenseValues().Select(n => n.ToString()));
    }

    private static string[] KeyValues(DataViewSchema schema, string column)
    {
        VBuffer<ReadOnlyMemory<char>> values = default;
        schema[column].GetKeyValues(ref values);
        return [.. values.DenseValues().Select(v => v.ToString())];
    }

    [Fact]
    public void Default_call_on_real_photos_meets_MLNets_floor_and_saves_loads_and_predicts_with_MLNets_columns()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var (train, test, _, folder) = PhotosSplit(ml);
        var (model, metrics) = FitAndEvaluate(ml, new ImageClassificationTrainer.Options { FeatureColumnName = "Image", LabelColumnName = "Label" }, train, test, folder);
        using var dispose = Disposal.Of(model);
        output.WriteLine($"default call: micro {metrics.MicroAccuracy:F3}, macro {metrics.MacroAccuracy:F3}");
        // Without a MetricsCallback, ML.NET writes every metrics line to mlContext.Log from its own source (Microsoft's
        // sample prints the messages that start "[Source=ImageClassificationTrainer;").
        var trainer = log.Where(m => m.StartsWith("[Source=ImageClassificationTrainer;", StringComparison.Ordinal)).ToList();
        Assert.Contains(trainer, m => m.Contains("Phase: Bottleneck Computation, Dataset used:      Train, Image Index:   1"));
        Assert.Contains(trainer, m => m.Contains("Phase: Training, Dataset used:      Train, Batch Processed Count:"));
        Assert.Contains(trainer, m => m.Contains("Phase: Training, Dataset used: Validation, Batch Processed Count:"));
        // One channel for the trainer, as ML.NET keeps: no start/finish lines around every metrics line.
        Assert.InRange(trainer.Count(m => m.Contains("Channel started")), 0, 1);
        // ML.NET's TensorFlowImageClassificationDefault asserts both in [0.8, 1] on its 200 flower photos.
        Assert.InRange(metrics.MicroAccuracy, 0.8, 1);
        Assert.InRange(metrics.MacroAccuracy, 0.8, 1);

        var classes = KeyValues(train.Schema, "Label");
        AssertMlNetScoreColumns(model.GetOutputSchema(train.Schema), classes);
        using var dir = new TempDir();
        ml.Model.Save(model, train.Schema, dir.Combine("model.zip"));
        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(dir.Combine("model.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        AssertMlNetScoreColumns(loaded.GetOutputSchema(train.Schema), classes);

        var expected = ml.Data.CreateEnumerable<ImagePrediction>(model.Transform(test), reuseRowObject: false).ToList();
        var engine = fresh.Model.CreatePredictionEngine<ImagePathOnly, ImagePrediction>(loaded);
        var rows = ml.Data.CreateEnumerable<ImagePathOnly>(test, reuseRowObject: false).ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            var p = engine.Predict(rows[i]);
            Assert.Equal(classes.Length, p.Score.Length);
            Assert.InRange(p.Score.Sum(), 0.999f, 1.001f);
            Assert.Equal(expected[i].PredictedLabel, p.PredictedLabel);
            for (int k = 0; k < classes.Length; k++) Assert.Equal(expected[i].Score[k], p.Score[k], 4);
        }
    }

    [Fact]
    public void Under_exponential_decay_train_and_validation_cross_entropy_fall_every_epoch()
    {
        var ml = new MLContext(seed: 1);
        var (train, test, validation, folder) = PhotosSplit(ml);
        var trainLoss = new List<float>();
        var validationLoss = new List<float>();
        var options = Explicit(validation);
        options.TestOnTrainSet = true;
        options.EarlyStoppingCriteria = null;
        options.LearningRateScheduler = new ExponentialLRDecay();
        options.MetricsCallback = m =>
        {
            if (m.Train is null) return;
            (m.Train.DatasetUsed == ImageClassificationTrainer.ImageClassificationMetrics.Dataset.Train ? trainLoss : validationLoss).Add(m.Train.CrossEntropy);
        };
        var (model, metrics) = FitAndEvaluate(ml, options, train, test, folder);
        using var dispose = Disposal.Of(model);
        output.WriteLine($"micro {metrics.MicroAccuracy:F3}; train CE {trainLoss[0]:F4} → {trainLoss[^1]:F4}; validation CE {validationLoss[0]:F4} → {validationLoss[^1]:F4}");
        Assert.Equal(50, trainLoss.Count);
        Assert.Equal(50, validationLoss.Count);
        // ML.NET's test asserts a strict fall at every epoch of both; reshuffling the batches each epoch broke it.
        for (int e = 1; e < 50; e++)
        {
            Assert.True(trainLoss[e] < trainLoss[e - 1], $"train cross-entropy rose at epoch {e}: {trainLoss[e - 1]} → {trainLoss[e]}");
            Assert.True(validationLoss[e] < validationLoss[e - 1], $"validation cross-entropy rose at epoch {e}: {validationLoss[e - 1]} → {validationLoss[e]}");
        }
        Assert.InRange(metrics.MicroAccuracy, 0.8, 1);
    }

    [Fact]
    public void Polynomial_decay_follows_MLNets_rates_and_meets_its_floor()
    {
        var ml = new MLContext(seed: 1);
        var (train, test, validation, folder) = PhotosSplit(ml);
        var rates = new List<float>();
        var options = Explicit(validation);
        options.TestOnTrainSet = true;
        options.EarlyStoppingCriteria = null;
        options.LearningRateScheduler = new PolynomialLRDecay();
        options.MetricsCallback = m =>
        {
            if (m.Train?.DatasetUsed == ImageClassificationTrainer.ImageClassificationMetrics.Dataset.Train) rates.Add(m.Train.LearningRate);
        };
        var (model, metrics) = FitAndEvaluate(ml, options, train, test, folder);
        using var dispose = Disposal.Of(model);
        output.WriteLine($"micro {metrics.MicroAccuracy:F3}, macro {metrics.MacroAccuracy:F3}; rates {string.Join(", ", rates.Take(4))} …");
        // ML.NET's formula reaches its end rate, 1e-4, after two epochs; the last batch of epoch 0 is about half-way.
        Assert.InRange(rates[0], 0.004f, 0.0075f);
        Assert.Equal(1e-4f, rates[2], 6);
        Assert.Equal(1e-4f, rates[^1], 6);
        Assert.InRange(metrics.MicroAccuracy, 0.8, 1);
        Assert.InRange(metrics.MacroAccuracy, 0.8, 1);
    }

    [Theory]
    [InlineData(ImageClassificationTrainer.EarlyStoppingMetric.Accuracy)]
    [InlineData(ImageClassificationTrainer.EarlyStoppingMetric.Loss)]
    public void Early_stopping_stops_within_half_the_epochs_and_keeps_the_last_weights_unless_asked_for_the_best(ImageClassificationTrainer.EarlyStoppingMetric metric)
    {
        var ml = new MLContext(seed: 1);
        var (train, _, fullValidation, folder) = PhotosSplit(ml);
        // Whole batches of 5, so the batch-mean loss training reports is the row-mean Evaluate reports.
        var validation = ml.Data.TakeRows(fullValidation, fullValidation.GetColumn<uint>("Label").Count() / 5 * 5);
        var test = validation;
        ImageClassificationTrainer.Options Options(bool restoreBest)
        {
            var o = Explicit(validation);
            o.Epoch = 100;
            o.BatchSize = 5;
            o.EarlyStoppingCriteria = new ImageClassificationTrainer.EarlyStopping(metric: metric);
            o.RestoreBestEpoch = restoreBest;
            return o;
        }
        var (last, lastMetrics) = FitAndEvaluate(ml, Options(false), train, test, folder);
        using var disposeLast = Disposal.Of(last);
        var history = Trained(last).History;
        output.WriteLine($"{metric}: stopped after epoch {history[^1].Epoch}; micro {lastMetrics.MicroAccuracy:F3}; log-loss {lastMetrics.LogLoss:F5}, " +
                         $"last epoch's validation loss {history[^1].ValidationLoss:F5}, best {history.Min(h => h.ValidationLoss):F5}");
        Assert.InRange(history[^1].Epoch, 1, 49); // ML.NET's assertion
        Assert.InRange(lastMetrics.MicroAccuracy, 0.8, 1);
        Assert.InRange(lastMetrics.MacroAccuracy, 0.8, 1);
        // The model scores with the last epoch's weights, as ML.NET's does.
        Assert.Equal(history[^1].ValidationLoss, lastMetrics.LogLoss, 3);

        var (best, bestMetrics) = FitAndEvaluate(new MLContext(seed: 1), Options(true), train, test, folder);
        using var disposeBest = Disposal.Of(best);
        var bestHistory = Trained(best).History;
        var chosen = metric == ImageClassificationTrainer.EarlyStoppingMetric.Loss
            ? bestHistory.MinBy(h => h.ValidationLoss)!
            : bestHistory.MaxBy(h => h.ValidationAccuracy)!;
        Assert.Equal(chosen.ValidationLoss, bestMetrics.LogLoss, 3);
        // Accuracy plateaus, so its best epoch lies before the patience window; a loss still creeping down by less than
        // the minimum delta is at its best in the last epoch, and then both choices agree.
        if (metric == ImageClassificationTrainer.EarlyStoppingMetric.Accuracy) Assert.NotEqual(bestHistory[^1].Epoch, chosen.Epoch);
    }

    [Fact]
    public void Undecodable_images_are_skipped_logged_and_counted_and_at_prediction_a_bad_image_names_its_row()
    {
        var ml = new MLContext(seed: 1);
        var log = TrainerLog(ml);
        var goodRows = TestAssets.PhotosSubset(TestAssets.PhotosDevTrain, 12, "hat", "shoes")
            .Select(i => new InMemoryImageData { Image = File.ReadAllBytes(i.Path), Label = i.Label }).ToList();
        var junk = new (string Label, byte[] Bytes)[]
        {
            ("hat", []), ("shoes", []),
            ("hat", "this is a text file, not an image"u8.ToArray()), ("shoes", "<html>not a photo</html>"u8.ToArray()),
        };
        var rows = goodRows.ToList();
        for (int i = 0; i < junk.Length; i++) rows.Insert(3 + 5 * i, new InMemoryImageData { Image = junk[i].Bytes, Label = junk[i].Label });
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows));
        var data = keys.Transform(ml.Data.LoadFromEnumerable(rows));
        int featurized = 0;
        var trainer = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "Image", LabelColumnName = "Label", Epoch = 5, BatchSize = 32, LearningRate = 0.0001f, EarlyStoppingCriteria = null,
            ValidationSet = data, MetricsCallback = m => { if (m.Bottleneck is { DatasetUsed: ImageClassificationTrainer.ImageClassificationMetrics.Dataset.Train }) featurized++; },
        });
        using var model = trainer.Fit(data);
        output.WriteLine(string.Join("\n", model.SkippedImages));
        // Each bad row once per set it is read in (training and validation), naming its row; the good ones featurized.
        Assert.Equal(2 * junk.Length, model.SkippedImages.Count);
        for (int i = 0; i < junk.Length; i++)
            Assert.Contains(model.SkippedImages, line => line.StartsWith($"Train set, row {3 + 5 * i}: skipped, Image row {3 + 5 * i}: ", StringComparison.Ordinal));
        Assert.All(model.SkippedImages, line => Assert.DoesNotContain("row 3: Image row", line));
        Assert.Equal(model.SkippedImages.Count, log.Count(l => l.Contains(": skipped, ", StringComparison.Ordinal)));
        Assert.Equal(24, featurized);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(keys.Transform(ml.Data.LoadFromEnumerable(goodRows))));
        Assert.InRange(metrics.MicroAccuracy, 0.3, 1); // ML.NET's bad-image test asserts that training completed this well

        // Scoring is not training: a bad image there is an error naming its row (ML.NET's parallel cursors may wrap it).
        var error = Assert.ThrowsAny<Exception>(() => model.Transform(data).GetColumn<float[]>("Score").ToList());
        var cause = Assert.IsType<InvalidDataException>(Inner(error));
        Assert.Contains("Image row 3", cause.Message);
    }

    private static Exception? Inner(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException) if (x is InvalidDataException) return x;
        return null;
    }

    [Fact]
    public void Fewer_than_two_classes_with_usable_images_is_an_error_that_says_why()
    {
        var ml = new MLContext(seed: 1);
        var good = TestAssets.PhotosSubset(TestAssets.PhotosDevTrain, 4, "hat").Select(i => new InMemoryImageData { Image = File.ReadAllBytes(i.Path), Label = "hat" });
        var rows = good.Concat([new InMemoryImageData { Image = [], Label = "shoes" }, new InMemoryImageData { Image = [1, 2, 3], Label = "shoes" }]).ToList();
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var trainer = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "Image", LabelColumnName = "Label", Epoch = 2, EarlyStoppingCriteria = null, ValidationSetFraction = null,
        });
        var message = Assert.Throws<InvalidOperationException>(() => trainer.Fit(data)).Message;
        Assert.Contains("at least 2 classes", message);
        Assert.Contains("2 skipped", message);
    }

    [Fact]
    public void Bottleneck_caches_take_the_options_file_names_and_are_reused_only_for_the_same_images()
    {
        var ml = new MLContext(seed: 1);
        var log = TrainerLog(ml);
        var (train, _, validation, folder) = PhotosSplit(ml);
        using var workspace = new TempDir();
        ImageClassificationTrainer.Options Options(bool reuse) => new()
        {
            FeatureColumnName = "Image", LabelColumnName = "Label", Epoch = 3, EarlyStoppingCriteria = null, ValidationSet = validation,
            MetricsCallback = _ => { }, WorkspacePath = workspace.Path,
            TrainSetBottleneckCachedValuesFileName = "TrainsetCached_photos", ValidationSetBottleneckCachedValuesFileName = "validationsetCached_photos",
            ReuseTrainSetBottleneckCachedValues = reuse, ReuseValidationSetBottleneckCachedValues = reuse,
        };
        ITransformer Fit(IDataView data, bool reuse) =>
            ml.Transforms.LoadRawImageBytes("Image", folder, "ImagePath").Append(ml.MulticlassClassification.Trainers.ImageClassification(Options(reuse))).Fit(data);

        using (Disposal.Of(Fit(train, reuse: false))) { }
        var trainFile = workspace.Combine("TrainsetCached_photos");
        var validationFile = workspace.Combine("validationsetCached_photos");
        Assert.True(File.Exists(trainFile));
        Assert.True(File.Exists(validationFile));
        var lines = File.ReadAllLines(trainFile);
        Assert.StartsWith("# MLNetTransfer bottleneck values", lines[0]);
        Assert.Equal(train.GetColumn<uint>("Label").Count(), lines.Length - 1);
        Assert.Equal(1 + 512, lines[1].Split(',').Length); // class, then ResNet-18's 512 values
        Assert.DoesNotContain(log, l => l.Contains("reusing"));

        using (Disposal.Of(Fit(train, reuse: true))) { }
        Assert.Equal(2, log.Count(l => l.Contains("reusing")));

        log.Clear();
        var fewer = ml.Data.TakeRows(train, 100);
        using (Disposal.Of(Fit(fewer, reuse: true))) { }
        Assert.Single(log, l => l.Contains("reusing")); // the validation set's; the training images changed
        Assert.Equal(100, File.ReadAllLines(trainFile).Length - 1);
    }

    [Fact]
    public void Every_architecture_trains_InceptionV3_on_ResNet18_and_the_mapping_is_logged_once()
    {
        var ml = new MLContext(seed: 1);
        var log = TrainerLog(ml);
        var (train, test, validation, folder) = PhotosSplit(ml);
        foreach (var arch in Enum.GetValues<ImageClassificationTrainer.Architecture>())
        {
            var options = Explicit(validation);
            options.Arch = arch;
            options.Epoch = 20;
            var (model, metrics) = FitAndEvaluate(ml, options, train, test, folder);
            using var dispose = Disposal.Of(model);
            output.WriteLine($"{arch} → {Trained(model).Backbone}: micro {metrics.MicroAccuracy:F3}, macro {metrics.MacroAccuracy:F3}");
            Assert.Equal(arch == ImageClassificationTrainer.Architecture.MobilenetV2 ? "mobilenetv2-int8" : "resnet18-int8", Trained(model).Backbone);
            Assert.InRange(metrics.MicroAccuracy, 0.8, 1);
        }
        Assert.Single(log, l => l.StartsWith("Architecture InceptionV3 runs ResNet-18", StringComparison.Ordinal));
    }

    [Fact]
    public void Other_score_and_predicted_label_names_carry_MLNets_columns_under_those_names()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestAssets.PhotosSubset(TestAssets.PhotosDevTrain, 6, "hat", "shoes")
            .Select(i => new InMemoryImageData { Image = File.ReadAllBytes(i.Path), Label = i.Label }).ToList();
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        using var model = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "Image", LabelColumnName = "Label", ScoreColumnName = "Probabilities", PredictedLabelColumnName = "Guess",
            Epoch = 2, EarlyStoppingCriteria = null,
        }).Fit(data);
        var schema = model.Transform(data).Schema;
        Assert.Null(schema.GetColumnOrNull("Score"));
        Assert.Null(schema.GetColumnOrNull("PredictedLabel"));
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["Probabilities"].GetSlotNames(ref names);
        Assert.Equal(["hat", "shoes"], names.DenseValues().Select(n => n.ToString()));
        Assert.Equal(["hat", "shoes"], KeyValues(schema, "Guess"));
        Assert.Equal(rows.Count, model.Transform(data).GetColumn<uint>("Guess").Count());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 13)]
    [InlineData(2, 0)]
    [InlineData(7, 5)]
    public void MLNets_schedulers_give_MLNets_rates_with_whole_batches_per_epoch(int epoch, int batch)
    {
        // 144 images in batches of 10: ML.NET counts 14 whole batches per epoch (the 15th, partial, runs too).
        const int batchSize = 10, examples = 144, perEpoch = examples / batchSize;
        int step = epoch * perEpoch + batch, decaySteps = perEpoch * 2;
        var exponential = new MlNetSchedule(new ExponentialLRDecay(), batchSize, examples).Rate(epoch, batch);
        Assert.Equal(0.01f * MathF.Pow(0.94f, MathF.Floor((float)step / decaySteps)), exponential, 6);
        var polynomial = new MlNetSchedule(new PolynomialLRDecay(), batchSize, examples).Rate(epoch, batch);
        Assert.Equal((0.01f - 1e-4f) * (1 - Math.Min(step, decaySteps) / (float)decaySteps) + 1e-4f, polynomial, 6);
        var lsr = new MlNetSchedule(new LsrDecay(), batchSize, examples).Rate(epoch, batch);
        Assert.Equal(0.1f * batchSize / 128, lsr, 6);
    }

    [Fact]
    public void Bad_options_and_inputs_fail_with_messages_naming_the_option_or_column()
    {
        var ml = new MLContext(seed: 1);
        string Message(Func<object> create) => Assert.ThrowsAny<ArgumentException>(create).Message;
        Assert.Contains("BatchSize", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { BatchSize = 0 })));
        Assert.Contains("Epoch", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { Epoch = 0 })));
        Assert.Contains("LearningRate", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { LearningRate = -1 })));
        Assert.Contains("ValidationSetFraction", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { ValidationSetFraction = 1.5f })));
        Assert.Contains("EarlyStoppingCriteria", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { ValidationSetFraction = null })));
        Assert.Contains("TrainSetBottleneckCachedValuesFileName", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(
            new ImageClassificationTrainer.Options { TrainSetBottleneckCachedValuesFileName = "../elsewhere/train.csv" })));

        var paths = ml.Data.LoadFromEnumerable(new[] { new ImageData { ImagePath = "a.png", Label = "a" }, new ImageData { ImagePath = "b.png", Label = "b" } });
        var keyed = ml.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label").Fit(paths).Transform(paths);
        var trainer = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { FeatureColumnName = "ImagePath", LabelColumnName = "LabelAsKey" });
        var schema = Assert.ThrowsAny<ArgumentException>(() => trainer.Fit(keyed)).Message;
        Assert.Contains("'ImagePath'", schema);
        Assert.Contains("Vector<Byte>", schema);

        var bytes = ml.Data.LoadFromEnumerable(new[] { new InMemoryImageData { Image = [1], Label = "a" } });
        var textLabel = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { FeatureColumnName = "Image", LabelColumnName = "Label" });
        var label = Assert.ThrowsAny<ArgumentException>(() => textLabel.Fit(bytes)).Message;
        Assert.Contains("'Label'", label);
        Assert.Contains("MapValueToKey", label);
    }
}
