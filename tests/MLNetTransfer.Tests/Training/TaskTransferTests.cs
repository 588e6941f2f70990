using MLNetTransfer.Data;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Training;

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
        using var digitNet = TransferLearningTrainer.Train(ImagePixelStore.FromPlanes([.. taskA.Select(m => m.Pixels)], 28, 28), [.. taskA.Select(m => m.Label)],
            null, null, digits, new TransferLearningOptions { Strategy = TransferStrategy.Scratch, ImageSize = 28, BatchSize = 64, LearningRate = 3e-3, Epochs = 10, DropoutRate = 0 });
        var before = digitNet.Body.parameters().Select(p => p.clone()).ToList();

        // Task B: odd/even, shared layers frozen, new 2-class head.
        var oddEven = TransferLearningTrainer.Transfer(digitNet, ImagePixelStore.FromPlanes([.. taskB.Select(m => m.Pixels)], 28, 28),
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
    }
}
