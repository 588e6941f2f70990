using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Training;

[NeedsAssets]
[Collection("heavy")]
public class TransferLearningTests(ITestOutputHelper output)
{
    private static IReadOnlyList<LabeledImage> Cifar(string dir, int perClass) =>
        ImageFolder.Scan(dir, new ImageFolderOptions { MaxPerClass = perClass, Seed = 1, ValidateImages = false }).Images;

    private static IDataView Keyed(MLContext ml, IEnumerable<LabeledImage> items)
    {
        var view = ml.Data.LoadImages(items);
        return ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Fit(view).Transform(view);
    }

    private (double Accuracy, TransferLearningTransformer Model) TrainAndScore(TransferLearningOptions options, int trainPerClass = 100)
    {
        var ml = new MLContext(1);
        var train = Cifar(TestAssets.Cifar10Train, trainPerClass);
        var test = Cifar(TestAssets.Cifar10Test, 50);
        var trainView = Keyed(ml, train);
        var model = ml.MulticlassClassification.Trainers.TransferLearning(options).Fit(trainView);
        var classifier = new ImageClassifierModel(model, trainView.Schema);
        var report = ModelEvaluation.Evaluate(ml, classifier, test);
        var run = model.Run;
        output.WriteLine($"{options.Strategy}: accuracy {report.Accuracy:F4} on {test.Count}, train {run.TrainSeconds:F1} s; epochs: " +
            string.Join(" | ", run.Network.History.Select(h => $"{h.Phase} loss {h.TrainLoss:F3} val {h.ValidationAccuracy:F3} {h.ImagesPerSecond:F0} img/s")));
        return (report.Accuracy, model);
    }

    private void SavedModelAndOnnxPredictTheSame(TransferLearningTransformer model)
    {
        var ml = new MLContext(3);
        var sample = Cifar(TestAssets.Cifar10Test, 4);
        var view = Keyed(ml, sample);
        using var dir = new TempDir();
        ml.Model.Save(model, view.Schema, dir.Combine("model.zip"));
        var loaded = new MLContext(4).Model.Load(dir.Combine("model.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        var before = model.Transform(view).GetColumn<float[]>("Score").ToList();
        var after = loaded.Transform(view).GetColumn<float[]>("Score").ToList();
        var predicted = loaded.Transform(view).GetColumn<uint>("PredictedLabel").ToList();
        var run = model.Run;
        var torchScores = run.Network.Predict(MLNetTransfer.Torch.ImagePixelStore.Decode([.. sample.Select(s => s.Path)], run.DecodeWidth, run.DecodeHeight));
        float maxSaved = 0, maxTorch = 0;
        for (int i = 0; i < sample.Count; i++)
        {
            Assert.Equal(10, before[i].Length);
            for (int c = 0; c < 10; c++)
            {
                maxSaved = Math.Max(maxSaved, Math.Abs(before[i][c] - after[i][c]));
                maxTorch = Math.Max(maxTorch, Math.Abs(before[i][c] - torchScores[i][c]));
            }
            Assert.Equal((uint)(Array.IndexOf(after[i], after[i].Max()) + 1), predicted[i]);
        }
        output.WriteLine($"saved/loaded max score diff {maxSaved}; ML.NET(ONNX) vs TorchSharp max diff {maxTorch}");
        Assert.Equal(0f, maxSaved);
        Assert.True(maxTorch <= 1e-4f, $"ONNX vs TorchSharp {maxTorch}");
    }

    [Fact]
    public void Head_only_on_real_cifar10_reaches_0_58_and_partial_retraining_beats_it()
    {
        var head = TrainAndScore(new TransferLearningOptions
        {
            Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, Epochs = 30, LearningRate = 3e-3, ImageSize = 96,
            ValidationFraction = 0.1, DropoutRate = 0.2,
        });
        Assert.True(head.Accuracy >= 0.58, $"head-only accuracy {head.Accuracy:F4}");
        SavedModelAndOnnxPredictTheSame(head.Model);

        var partial = TrainAndScore(new TransferLearningOptions
        {
            Assets = new(TestAssets.Root), Strategy = TransferStrategy.PartialRetrain, UnfrozenBlocks = 3, WarmupEpochs = 10, Epochs = 20,
            LearningRate = 3e-3, BackboneLrFactor = 0.1, ImageSize = 96, ValidationFraction = 0.1, DropoutRate = 0.2,
        });
        Assert.True(partial.Accuracy > head.Accuracy, $"partial {partial.Accuracy:F4} <= head-only {head.Accuracy:F4}");
    }
}
