using Microsoft.ML;
using MLNetTransfer.Data;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Training;

[NeedsAssets]
[Collection("heavy")]
public class TaskTransferTests(ITestOutputHelper output)
{
    [Fact]
    public void Mnist_digits_to_odd_even_with_frozen_shared_layers()
    {
        var train = MnistIdx.Load(TestAssets.Mnist, train: true);
        var test = MnistIdx.Load(TestAssets.Mnist, train: false).Take(2000).ToList();
        var taskA = Stratified.Sample(train.Take(30000).ToList(), m => m.Label.ToString(), 800, seed: 1);
        var taskB = Stratified.Sample(train.Skip(30000).ToList(), m => m.Label.ToString(), 100, seed: 2);
        string[] digits = [.. Enumerable.Range(0, 10).Select(d => d.ToString())];

        // Task A: digits, scratch CNN.
        using var digitNet = TrainedNetwork.Train(ImagePixelStore.FromPlanes([.. taskA.Select(m => m.Pixels)], 28, 28), [.. taskA.Select(m => m.Label)],
            null, null, digits, new TransferLearningOptions { Strategy = TransferStrategy.Scratch, ImageSize = 28, BatchSize = 64, LearningRate = 3e-3, Epochs = 10, DropoutRate = 0 });
        var before = digitNet.Body.parameters().Select(p => p.clone()).ToList();

        // Task B: odd/even, shared layers frozen, new 2-class head.
        var oddEven = TrainedNetwork.Transfer(digitNet, ImagePixelStore.FromPlanes([.. taskB.Select(m => m.Pixels)], 28, 28),
            [.. taskB.Select(m => m.Label % 2)], null, null, ["even", "odd"],
            new TransferLearningOptions { Strategy = TransferStrategy.HeadOnly, Head = HeadKind.Keras, ImageSize = 28, BatchSize = 64, LearningRate = 3e-3, Epochs = 30, DropoutRate = 0.1 });
        var after = oddEven.Body.parameters().ToList();
        Assert.Equal(before.Count, after.Count);
        for (int i = 0; i < before.Count; i++) Assert.True(after[i].allclose(before[i], 0, 0), $"shared parameter {i} changed");

        var probabilities = oddEven.Predict(ImagePixelStore.FromPlanes([.. test.Select(m => m.Pixels)], 28, 28));
        double accuracy = test.Select((m, i) => (probabilities[i][1] > probabilities[i][0] ? 1 : 0) == m.Label % 2 ? 1.0 : 0.0).Average();
        var digitProbabilities = digitNet.Predict(ImagePixelStore.FromPlanes([.. test.Select(m => m.Pixels)], 28, 28));
        double digitAccuracy = test.Select((m, i) => Array.IndexOf(digitProbabilities[i], digitProbabilities[i].Max()) == m.Label ? 1.0 : 0.0).Average();
        output.WriteLine($"task A (digits, 8,000 train): {digitAccuracy:F4}; task B (odd/even, 1,000 train, frozen body): {accuracy:F4} on {test.Count} test images");
        Assert.True(accuracy >= 0.98, $"odd/even accuracy {accuracy:F4}");

        // The transferred network as a plain ML.NET model on PNG bytes: Save, Load elsewhere, PredictionEngine, Evaluate.
        var ml = new Microsoft.ML.MLContext(1);
        var sample = test.Take(40).ToList();
        var rows = ml.Data.LoadFromEnumerable(sample.Select(m => new DigitRow { Image = RawImage.EncodePngGray(m.Pixels, 28, 28), Label = m.Label % 2 == 1 ? "odd" : "even" }));
        using var dir = new TempDir();
        ml.Model.Save(oddEven.CreateModel(ml, rows, "Image", 28, 28), rows.Schema, dir.Combine("odd-even.zip"));
        var fresh = new Microsoft.ML.MLContext(2);
        var loaded = fresh.Model.Load(dir.Combine("odd-even.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        var keyed = fresh.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue).Fit(rows).Transform(rows);
        var metrics = fresh.MulticlassClassification.Evaluate(loaded.Transform(keyed));
        var named = loaded.Append(fresh.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(loaded.Transform(rows)));
        var engine = fresh.Model.CreatePredictionEngine<DigitRow, DigitPrediction>(named);
        var torch = oddEven.Predict(ImagePixelStore.FromPlanes([.. sample.Select(m => m.Pixels)], 28, 28));
        for (int i = 0; i < sample.Count; i++)
        {
            var p = engine.Predict(new DigitRow { Image = RawImage.EncodePngGray(sample[i].Pixels, 28, 28) });
            Assert.Equal(torch[i][0], p.Score[0], 3);
            Assert.Equal(torch[i][1] > torch[i][0] ? "odd" : "even", p.PredictedLabel);
        }
        double torchAccuracy = sample.Select((m, i) => (torch[i][1] > torch[i][0] ? 1 : 0) == m.Label % 2 ? 1.0 : 0.0).Average();
        Assert.Equal(torchAccuracy, metrics.MicroAccuracy, 6);
    }

    public sealed class DigitRow
    {
        public byte[] Image { get; set; } = [];
        public string Label { get; set; } = "";
    }

    public sealed class DigitPrediction
    {
        public float[] Score { get; set; } = [];
        public string PredictedLabel { get; set; } = "";
    }
}
