using Microsoft.ML;
using MLNetTransfer.Tests.Cli;
using Xunit.Abstractions;
using static Microsoft.ML.Transforms.ValueToKeyMappingEstimator;

namespace MLNetTransfer.Tests.Training;

/// <summary>
/// A model.zip written by <c>mlnet-transfer train</c>, for every strategy, used the way a plain ML.NET app uses a
/// multiclass model: Load in a new MLContext, a PredictionEngine with <c>float[] Score</c> and <c>string PredictedLabel</c>
/// fed only an image path (no label), and <c>MulticlassClassification.Evaluate</c>.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class MlNetConventionTests(ITestOutputHelper output)
{
    public sealed class ImageInput { public string ImagePath { get; set; } = ""; }

    public sealed class LabeledImageInput
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public sealed class ImagePrediction
    {
        public float[] Score { get; set; } = [];
        public string PredictedLabel { get; set; } = "";
    }

    [Theory]
    [InlineData("linear-probe")]
    [InlineData("head")]
    [InlineData("partial")]
    [InlineData("full")]
    [InlineData("scratch")]
    public void Model_zip_of_every_strategy_works_with_PredictionEngine_and_Evaluate(string strategy)
    {
        using var dir = new TempDir();
        string[] tuning = strategy == "linear-probe" ? [] : ["--epochs", "2", "--image-size", "32"];
        var run = CliProcess.Run(["train", "--train", TestAssets.Cifar10Train, "--max-per-class", "10", "--strategy", strategy, .. tuning,
            "--out", dir.Path, "--quiet"]);
        Assert.True(run.ExitCode == 0, $"train --strategy {strategy} exited {run.ExitCode}: {run.Stderr}");

        var ml = new MLContext(7);
        var model = ml.Model.Load(dir.Combine("model.zip"), out _);
        using var disposeModel = Disposal.Of(model);
        var classes = Directory.GetDirectories(TestAssets.Cifar10Train).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var test = TestAssets.CifarSubset(TestAssets.Cifar10Test, 4);
        var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(model);
        int right = 0;
        foreach (var image in test)
        {
            var p = engine.Predict(new ImageInput { ImagePath = image.Path });
            Assert.Equal(10, p.Score.Length);
            Assert.InRange(p.Score.Sum(), 0.999f, 1.001f);
            // The text label is the class of the highest score: keys, scores and names agree.
            Assert.Equal(classes[Array.IndexOf(p.Score, p.Score.Max())], p.PredictedLabel);
            if (p.PredictedLabel == image.Label) right++;
        }

        var view = ml.Data.LoadFromEnumerable(test.Select(t => new LabeledImageInput { ImagePath = t.Path, Label = t.Label }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: KeyOrdinality.ByValue).Fit(view).Transform(view);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(keyed));
        output.WriteLine($"{strategy}: Evaluate micro-accuracy {metrics.MicroAccuracy:F3} on {test.Count}, log-loss {metrics.LogLoss:F3}; engine {right}/{test.Count}");
        Assert.Equal((double)right / test.Count, metrics.MicroAccuracy, 6);
        Assert.True(double.IsFinite(metrics.LogLoss));
    }
}
