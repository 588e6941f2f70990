using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNetTransfer.Vision;
using Xunit.Abstractions;
using static Microsoft.ML.Transforms.ValueToKeyMappingEstimator;

namespace MLNetTransfer.Tests.Vision;

/// <summary>
/// An app written the way Microsoft.ML.Vision's docs and samples teach ImageClassificationTrainer, with only the using
/// changed to MLNetTransfer.Vision: relative image paths and an image folder, MapValueToKey + LoadRawImageBytes, the
/// trainer, MapKeyToValue, Evaluate, Save, Load in a new MLContext, and a PredictionEngine fed raw bytes.
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
        public string ImageFileName = "";
    }

    public class ImagePrediction
    {
        public float[] Score = [];
        public string PredictedLabel = "";
    }

    private const int TrainPerClass = 25, TestPerClass = 10;

    private static (IDataView Train, IDataView Test, string Folder) Prepare(MLContext ml)
    {
        var folder = Path.GetDirectoryName(TestAssets.Cifar10Train)!;
        ImageData Relative(MLNetTransfer.Data.LabeledImage i) => new() { ImagePath = Path.GetRelativePath(folder, i.Path), Label = i.Label };
        var train = ml.Data.LoadFromEnumerable(TestAssets.CifarSubset(TestAssets.Cifar10Train, TrainPerClass).Select(Relative));
        var test = ml.Data.LoadFromEnumerable(TestAssets.CifarSubset(TestAssets.Cifar10Test, TestPerClass).Select(Relative));
        var prep = ml.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label", keyOrdinality: KeyOrdinality.ByValue)
            .Append(ml.Transforms.LoadRawImageBytes("Image", folder, "ImagePath"))
            .Fit(train);
        return (ml.Data.ShuffleRows(prep.Transform(train), seed: 1), prep.Transform(test), folder);
    }

    /// <summary>Evaluate, Save, Load elsewhere, PredictionEngine on raw bytes; returns the accuracy.</summary>
    private double EvaluateSaveLoadPredict(MLContext ml, ITransformer model, IDataView train, IDataView test, string folder)
    {
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test), labelColumnName: "LabelAsKey", predictedLabelColumnName: "PredictedLabel");
        using var dir = new TempDir();
        ml.Model.Save(model, train.Schema, dir.Combine("model.zip"));

        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(dir.Combine("model.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        var engine = fresh.Model.CreatePredictionEngine<InMemoryImageData, ImagePrediction>(loaded);
        var labels = fresh.Data.CreateEnumerable<ImageData>(test, reuseRowObject: false).ToList();
        int right = 0;
        foreach (var row in labels)
        {
            var prediction = engine.Predict(new InMemoryImageData { Image = File.ReadAllBytes(Path.Combine(folder, row.ImagePath)), ImageFileName = Path.GetFileName(row.ImagePath) });
            Assert.Equal(10, prediction.Score.Length);
            Assert.InRange(prediction.Score.Sum(), 0.999f, 1.001f);
            if (prediction.PredictedLabel == row.Label) right++;
        }
        output.WriteLine($"Evaluate: micro-accuracy {metrics.MicroAccuracy:F3}, macro {metrics.MacroAccuracy:F3}, log-loss {metrics.LogLoss:F3}; " +
                         $"loaded model + PredictionEngine on bytes: {right}/{labels.Count}");
        // The reloaded model, fed bytes one at a time, agrees with Evaluate on the in-memory model.
        Assert.Equal(metrics.MicroAccuracy, (double)right / labels.Count, 6);
        return metrics.MicroAccuracy;
    }

    [Fact]
    public void Default_call_as_in_MLNet_samples_trains_evaluates_saves_loads_and_predicts_from_bytes()
    {
        var ml = new MLContext(seed: 1);
        var (train, test, folder) = Prepare(ml);
        var pipeline = ml.MulticlassClassification.Trainers.ImageClassification(featureColumnName: "Image", labelColumnName: "LabelAsKey", validationSet: test)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel", "PredictedLabel"));
        var model = pipeline.Fit(train);
        double accuracy = EvaluateSaveLoadPredict(ml, model, train, test, folder);
        // The default Arch (ResnetV250) runs the catalog's resnet18; this bound is provisional until measured with it
        // (MobileNetV2 gives 0.670 on the same split, see the next test).
        Assert.True(accuracy >= 0.40, $"accuracy {accuracy:F3}");
    }

    [Fact]
    public void Explicit_options_as_in_MLNet_samples_report_each_epoch_once_and_reach_the_measured_accuracy()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && (e.Source == nameof(ImageClassificationTrainer) || e.Source == "TransferLearning")) lock (log) log.Add($"{clock.Elapsed.TotalSeconds:F1}s {e.RawMessage}"); };
        var (train, test, folder) = Prepare(ml);
        var epochs = new List<ImageClassificationTrainer.TrainMetrics>();
        var validations = new List<ImageClassificationTrainer.TrainMetrics>();
        int bottleneck = 0;
        var options = new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "Image",
            LabelColumnName = "LabelAsKey",
            Arch = ImageClassificationTrainer.Architecture.MobilenetV2,
            Epoch = 40,
            BatchSize = 10,
            LearningRate = 0.01f,
            MetricsCallback = Console.WriteLine,
            ValidationSet = test,
            EarlyStoppingCriteria = new ImageClassificationTrainer.EarlyStopping(minDelta: 0.001f, patience: 20, metric: ImageClassificationTrainer.EarlyStoppingMetric.Loss),
            LearningRateScheduler = new ExponentialLRDecay(0.1f),
            TestOnTrainSet = true,
        };
        options.MetricsCallback = m =>
        {
            Assert.False(string.IsNullOrEmpty(m.ToString()));
            if (m.Bottleneck is not null) bottleneck++;
            else if (m.Train!.DatasetUsed == ImageClassificationTrainer.ImageClassificationMetrics.Dataset.Train) epochs.Add(m.Train);
            else validations.Add(m.Train);
        };
        var pipeline = ml.MulticlassClassification.Trainers.ImageClassification(options)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        output.WriteLine(string.Join("\n", log));
        // Progress reaches the caller's MLContext log: the architecture mapping once, then one line per epoch.
        Assert.Single(log, l => l.Contains("Architecture MobilenetV2 runs MobileNetV2"));
        Assert.Equal(epochs.Count, log.Count(l => l.Contains("s epoch ")));

        output.WriteLine(string.Join("\n", epochs.Where((_, i) => i % 5 == 0).Select(e => e.ToString())));
        Assert.Equal(10 * (TrainPerClass + TestPerClass), bottleneck);
        Assert.Equal(Enumerable.Range(0, epochs.Count), epochs.Select(e => e.Epoch));
        Assert.Equal(Enumerable.Range(0, epochs.Count), validations.Select(e => e.Epoch));
        Assert.InRange(epochs.Count, 1, 40);
        Assert.Equal(0.1f, epochs[0].LearningRate, 6); // ExponentialLRDecay(0.1): 0.1 until the first decay
        Assert.True(epochs[^1].LearningRate < epochs[0].LearningRate);
        double accuracy = EvaluateSaveLoadPredict(ml, model, train, test, folder);
        Assert.True(accuracy >= 0.60, $"accuracy {accuracy:F3}"); // measured 0.670 (MobileNetV2, 25 images/class, seed 1)
    }

    [Fact]
    public void Bad_options_and_inputs_fail_with_messages_naming_the_option_column_or_row()
    {
        var ml = new MLContext(seed: 1);
        string Message(Func<object> create) => Assert.ThrowsAny<ArgumentException>(create).Message;
        Assert.Contains("BatchSize", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { BatchSize = 0 })));
        Assert.Contains("Epoch", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { Epoch = 0, Arch = ImageClassificationTrainer.Architecture.MobilenetV2 })));
        Assert.Contains("LearningRate", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { LearningRate = -1 })));
        Assert.Contains("ValidationSetFraction", Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { ValidationSetFraction = 1.5f })));
        var inception = Message(() => ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options { Arch = ImageClassificationTrainer.Architecture.InceptionV3 }));
        Assert.Contains("InceptionV3", inception);
        Assert.Contains("MobilenetV2", inception);

        var trainer = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "ImagePath", LabelColumnName = "LabelAsKey", Arch = ImageClassificationTrainer.Architecture.MobilenetV2, Epoch = 1,
        });
        var paths = ml.Data.LoadFromEnumerable(new[] { new ImageData { ImagePath = "a.png", Label = "a" }, new ImageData { ImagePath = "b.png", Label = "b" } });
        var keyed = ml.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label").Fit(paths).Transform(paths);
        var schema = Assert.ThrowsAny<ArgumentException>(() => trainer.Fit(keyed)).Message;
        Assert.Contains("'ImagePath'", schema);
        Assert.Contains("Vector<Byte>", schema);

        var good = File.ReadAllBytes(TestAssets.CifarSubset(TestAssets.Cifar10Test, 1)[0].Path);
        var bytes = ml.Data.LoadFromEnumerable(new[]
        {
            new InMemoryImageData { Image = good, Label = "a" }, new InMemoryImageData { Image = good, Label = "b" },
            new InMemoryImageData { Image = [1, 2, 3, 4, 5], Label = "a" },
        });
        var bytesKeyed = ml.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label").Fit(bytes).Transform(bytes);
        var bytesTrainer = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options
        {
            FeatureColumnName = "Image", LabelColumnName = "LabelAsKey", Arch = ImageClassificationTrainer.Architecture.MobilenetV2, Epoch = 1,
        });
        var bad = Assert.Throws<InvalidDataException>(() => bytesTrainer.Fit(bytesKeyed)).Message;
        output.WriteLine(bad);
        Assert.Contains("Row 2", bad);
        Assert.Contains("not a supported encoded image", bad);
    }
}
