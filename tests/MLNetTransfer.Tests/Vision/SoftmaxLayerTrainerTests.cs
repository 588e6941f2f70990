using MLNetTransfer.Vision;

namespace MLNetTransfer.Tests.Vision;

/// <summary>The drop-in's softmax layer, checked against arithmetic done by hand (no images, no assets).</summary>
public class SoftmaxLayerTrainerTests
{
    private static Bottlenecks Data() => new(
        [[1f, 0f, 2f], [0f, 1f, -1f], [2f, 2f, 0f], [-1f, 0.5f, 1f], [0.5f, -2f, 3f]],
        [0, 1, 2, 1, 0]);

    [Fact]
    public void One_step_is_plain_gradient_descent_on_the_batch_mean_cross_entropy_with_metrics_from_before_the_step()
    {
        var data = Data();
        var layer = new SoftmaxLayerTrainer(3, 3, new Random(7));
        var w0 = layer.Weights;
        var b0 = layer.Bias;
        var (accuracy, loss, batches, rate) = layer.TrainEpoch(data, batchSize: 5, _ => 0.5f);
        Assert.Equal(1, batches);
        Assert.Equal(0.5f, rate);

        // By hand: p = softmax(W0·x + b0); dW = mean over rows of (p − onehot) xᵀ; W1 = W0 − 0.5·dW.
        double expectedLoss = 0;
        int right = 0;
        var dW = new double[3, 3];
        var db = new double[3];
        for (int i = 0; i < data.Count; i++)
        {
            var x = data.Features[i];
            var logits = Enumerable.Range(0, 3).Select(k => Enumerable.Range(0, 3).Sum(j => (double)w0[k][j] * x[j]) + b0[k]).ToArray();
            double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
            var p = logits.Select(l => Math.Exp(l - max) / sum).ToArray();
            expectedLoss -= Math.Log(p[data.Labels[i]]);
            if (Array.IndexOf(logits, logits.Max()) == data.Labels[i]) right++;
            for (int k = 0; k < 3; k++)
            {
                double d = (p[k] - (k == data.Labels[i] ? 1 : 0)) / data.Count;
                db[k] += d;
                for (int j = 0; j < 3; j++) dW[k, j] += d * x[j];
            }
        }
        Assert.Equal(expectedLoss / data.Count, loss, 5);
        Assert.Equal((double)right / data.Count, accuracy, 6);
        var w1 = layer.Weights;
        var b1 = layer.Bias;
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(b0[k] - 0.5 * db[k], b1[k], 5);
            for (int j = 0; j < 3; j++) Assert.Equal(w0[k][j] - 0.5 * dW[k, j], w1[k][j], 5);
        }
    }

    [Fact]
    public void Batches_come_in_the_same_order_every_epoch_and_the_rate_is_asked_per_batch()
    {
        var layer = new SoftmaxLayerTrainer(3, 3, new Random(1));
        var asked = new List<int>();
        for (int epoch = 0; epoch < 3; epoch++) layer.TrainEpoch(Data(), batchSize: 2, batch => { asked.Add(batch); return 0.1f; });
        Assert.Equal([0, 1, 2, 0, 1, 2, 0, 1, 2], asked); // 5 rows in batches of 2: two whole and one partial, each epoch

        // Same start, same data, same order: the same layer, bit for bit (nothing is shuffled between epochs).
        var again = new SoftmaxLayerTrainer(3, 3, new Random(1));
        for (int epoch = 0; epoch < 3; epoch++) again.TrainEpoch(Data(), batchSize: 2, _ => 0.1f);
        Assert.Equal(layer.Weights.SelectMany(w => w), again.Weights.SelectMany(w => w));
    }

    [Fact]
    public void A_layer_trained_on_standardized_values_folds_into_one_that_takes_raw_values()
    {
        var data = Data();
        var scaling = BottleneckScaling.Measure(data);
        var standardized = scaling.Apply(data);
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(0, standardized.Features.Average(r => r[j]), 5);
            Assert.Equal(1, Math.Sqrt(standardized.Features.Average(r => (double)r[j] * r[j])), 4);
        }
        var layer = new SoftmaxLayerTrainer(3, 3, new Random(3));
        for (int epoch = 0; epoch < 20; epoch++) layer.TrainEpoch(standardized, 2, _ => 0.3f);
        var (w, b) = scaling.Fold(layer.Weights, layer.Bias);
        for (int i = 0; i < data.Count; i++)
            for (int k = 0; k < 3; k++)
            {
                double onStandardized = Enumerable.Range(0, 3).Sum(j => (double)layer.Weights[k][j] * standardized.Features[i][j]) + layer.Bias[k];
                double onRaw = Enumerable.Range(0, 3).Sum(j => (double)w[k][j] * data.Features[i][j]) + b[k];
                Assert.Equal(onStandardized, onRaw, 4);
            }
    }
}
