using MLNetTransfer.Insight;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Insight;

[Collection("heavy")]
public class GradCamTests(ITestOutputHelper output)
{
    // 32×32 grey noise images with one coloured 8×8 square: its colour (red, green, blue) is the class, its quadrant is
    // random. A network that recognizes the colour must find the square, so the heat should sit in that quadrant.
    private static (List<byte[]> Images, int[] Labels, int[] Quadrants) Quadrant(int count, int seed)
    {
        var random = new Random(seed);
        var images = new List<byte[]>();
        var labels = new int[count];
        var quadrants = new int[count];
        for (int n = 0; n < count; n++)
        {
            var img = new byte[3 * 32 * 32];
            for (int p = 0; p < 1024; p++) { byte g = (byte)random.Next(0, 160); for (int ch = 0; ch < 3; ch++) img[ch * 1024 + p] = g; }
            int c = labels[n] = n % 3;
            int q = quadrants[n] = random.Next(4);
            int oy = (q / 2) * 16 + random.Next(2, 7), ox = (q % 2) * 16 + random.Next(2, 7);
            for (int y = oy; y < oy + 8; y++)
                for (int x = ox; x < ox + 8; x++)
                    for (int ch = 0; ch < 3; ch++) img[ch * 1024 + y * 32 + x] = (byte)(ch == c ? 255 : 0);
            images.Add(img);
        }
        return (images, labels, quadrants);
    }

    [Fact]
    public void Heatmap_mass_sits_in_the_quadrant_that_defines_the_class()
    {
        var (images, labels, _) = Quadrant(300, 1);
        using var network = TrainedNetwork.Train(ImagePixelStore.FromPlanes(images, 32, 32), labels, null, null, ["red", "green", "blue"],
            new TransferLearningOptions { Strategy = TransferStrategy.Scratch, ImageSize = 32, Epochs = 6, LearningRate = 3e-3, BatchSize = 32, DropoutRate = 0 });
        var (test, testLabels, testQuadrants) = Quadrant(40, 2);
        var store = ImagePixelStore.FromPlanes(test, 32, 32);
        var probabilities = network.Predict(store);
        double accuracy = probabilities.Select((p, i) => Array.IndexOf(p, p.Max()) == testLabels[i] ? 1.0 : 0.0).Average();
        var transforms = new BatchTransforms(32, network.Normalization);
        int wins = 0;
        double share = 0;
        for (int i = 0; i < test.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var map = GradCam.Compute(network, transforms.ToInput(store.Batch([i])), testLabels[i]);
            var q = new double[4];
            for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) q[(y / 16) * 2 + x / 16] += map[y, x];
            int expected = testQuadrants[i];
            if (Array.IndexOf(q, q.Max()) == expected) wins++;
            share += q[expected] / Math.Max(q.Sum(), 1e-9);
        }
        output.WriteLine($"classifier accuracy {accuracy:F3}; the class quadrant holds the most heat in {wins}/{test.Count} maps, mean share {share / test.Count:P1}");
        Assert.True(accuracy >= 0.9, $"the CNN did not learn the task ({accuracy})");
        Assert.True(wins >= 0.8 * test.Count, $"class quadrant won in {wins}/{test.Count}");
    }
}
