using System.Numerics;

namespace MLNetTransfer.Vision;

/// <summary>
/// Trains a new softmax layer on cached bottleneck values the way Microsoft.ML.Vision's trainer does: weights drawn
/// from a normal of standard deviation 0.001 (truncated at two), biases zero; plain gradient descent on the batch's mean
/// cross-entropy; the batches in the same order every epoch; the rate from ML.NET's scheduler at every batch (or the
/// fixed rate); per epoch, the training metrics as the mean over batches of each batch's metrics before its update, and
/// the validation metrics as the mean over validation batches; early stopping on the validation metrics.
/// </summary>
internal sealed class SoftmaxLayerTrainer
{
    private readonly int classes;
    private readonly int width;
    private readonly float[][] weights;
    private readonly float[] bias;

    public SoftmaxLayerTrainer(int classes, int width, Random random)
    {
        this.classes = classes;
        this.width = width;
        weights = new float[classes][];
        for (int k = 0; k < classes; k++)
        {
            weights[k] = new float[width];
            for (int j = 0; j < width; j++) weights[k][j] = 0.001f * TruncatedNormal(random);
        }
        bias = new float[classes];
    }

    /// <summary>The weights, one row per class (a copy).</summary>
    public float[][] Weights => [.. weights.Select(w => (float[])w.Clone())];

    /// <summary>The biases (a copy).</summary>
    public float[] Bias => (float[])bias.Clone();

    /// <summary>Sets weights and biases (restoring a saved epoch).</summary>
    public void Load(float[][] w, float[] b)
    {
        for (int k = 0; k < classes; k++) Array.Copy(w[k], weights[k], width);
        Array.Copy(b, bias, classes);
    }

    /// <summary>One pass over <paramref name="data"/> in batches of <paramref name="batchSize"/>, updating the layer.</summary>
    /// <returns>The mean over batches of each batch's accuracy and cross-entropy, measured before its update.</returns>
    public (float Accuracy, float CrossEntropy, int Batches, float LastRate) TrainEpoch(Bottlenecks data, int batchSize, Func<int, float> rateAtBatch)
    {
        var logits = new float[batchSize * classes];
        var gradW = new float[classes][];
        for (int k = 0; k < classes; k++) gradW[k] = new float[width];
        var gradB = new float[classes];
        double accuracySum = 0, lossSum = 0;
        int batches = 0;
        float rate = 0;
        for (int start = 0; start < data.Count; start += batchSize, batches++)
        {
            int n = Math.Min(batchSize, data.Count - start);
            rate = rateAtBatch(batches);
            var (accuracy, loss) = Forward(data, start, n, logits); // logits now hold probabilities
            accuracySum += accuracy;
            lossSum += loss;
            foreach (var g in gradW) Array.Clear(g);
            Array.Clear(gradB);
            for (int i = 0; i < n; i++)
            {
                var x = data.Features[start + i];
                for (int k = 0; k < classes; k++)
                {
                    float d = (logits[i * classes + k] - (data.Labels[start + i] == k ? 1f : 0f)) / n;
                    if (d == 0) continue;
                    AddScaled(gradW[k], x, d);
                    gradB[k] += d;
                }
            }
            for (int k = 0; k < classes; k++)
            {
                AddScaled(weights[k], gradW[k], -rate);
                bias[k] -= rate * gradB[k];
            }
        }
        return batches == 0 ? (0, 0, 0, rate) : ((float)(accuracySum / batches), (float)(lossSum / batches), batches, rate);
    }

    /// <summary>The mean over batches of each batch's accuracy and cross-entropy, without updating.</summary>
    public (float Accuracy, float CrossEntropy) Evaluate(Bottlenecks data, int batchSize)
    {
        var probabilities = new float[batchSize * classes];
        double accuracySum = 0, lossSum = 0;
        int batches = 0;
        for (int start = 0; start < data.Count; start += batchSize, batches++)
        {
            var (accuracy, loss) = Forward(data, start, Math.Min(batchSize, data.Count - start), probabilities);
            accuracySum += accuracy;
            lossSum += loss;
        }
        return batches == 0 ? (float.NaN, float.NaN) : ((float)(accuracySum / batches), (float)(lossSum / batches));
    }

    // Softmax probabilities of rows [start, start+n) into output; returns the batch's accuracy and mean cross-entropy.
    private (double Accuracy, double Loss) Forward(Bottlenecks data, int start, int n, float[] output)
    {
        int correct = 0;
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            var x = data.Features[start + i];
            var row = output.AsSpan(i * classes, classes);
            float max = float.NegativeInfinity;
            int argmax = 0;
            for (int k = 0; k < classes; k++)
            {
                row[k] = Dot(weights[k], x) + bias[k];
                if (row[k] > max) { max = row[k]; argmax = k; }
            }
            double sum = 0;
            for (int k = 0; k < classes; k++) sum += Math.Exp(row[k] - max);
            int label = data.Labels[start + i];
            loss += Math.Log(sum) - (row[label] - max);
            for (int k = 0; k < classes; k++) row[k] = (float)(Math.Exp(row[k] - max) / sum);
            if (argmax == label) correct++;
        }
        return ((double)correct / n, loss / n);
    }

    private static float Dot(float[] a, float[] b)
    {
        var sum = Vector<float>.Zero;
        int i = 0, last = a.Length - Vector<float>.Count;
        for (; i <= last; i += Vector<float>.Count) sum += new Vector<float>(a, i) * new Vector<float>(b, i);
        float result = Vector.Dot(sum, Vector<float>.One);
        for (; i < a.Length; i++) result += a[i] * b[i];
        return result;
    }

    private static void AddScaled(float[] target, float[] x, float scale)
    {
        var s = new Vector<float>(scale);
        int i = 0, last = target.Length - Vector<float>.Count;
        for (; i <= last; i += Vector<float>.Count) (new Vector<float>(target, i) + s * new Vector<float>(x, i)).CopyTo(target, i);
        for (; i < target.Length; i++) target[i] += scale * x[i];
    }

    // TensorFlow's truncated normal: a standard normal redrawn outside two standard deviations.
    private static float TruncatedNormal(Random random)
    {
        while (true)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            if (Math.Abs(z) <= 2) return (float)z;
        }
    }
}
