namespace MLNetTransfer.Vision;

/// <summary>
/// Per-value standardization of bottleneck values, (x − mean) / standard deviation, measured on the training rows. A
/// frozen network's pooled outputs share a large positive mean, which makes plain gradient descent slow along every other
/// direction; centred and scaled values train faster at ML.NET's rates. The scaling is folded into the trained layer
/// afterwards (<see cref="Fold"/>), so the saved model takes the network's raw values and nothing is added to it.
/// </summary>
internal sealed class BottleneckScaling
{
    private readonly float[] mean;
    private readonly float[] scale; // 1 / standard deviation; 1 for a value that never varies

    private BottleneckScaling(float[] mean, float[] scale)
    {
        this.mean = mean;
        this.scale = scale;
    }

    /// <summary>Measures mean and standard deviation of each value over <paramref name="data"/>.</summary>
    public static BottleneckScaling Measure(Bottlenecks data)
    {
        int width = data.Features[0].Length;
        var sum = new double[width];
        var squares = new double[width];
        foreach (var row in data.Features)
            for (int j = 0; j < width; j++) { sum[j] += row[j]; squares[j] += (double)row[j] * row[j]; }
        var mean = new float[width];
        var scale = new float[width];
        for (int j = 0; j < width; j++)
        {
            double m = sum[j] / data.Count;
            double variance = Math.Max(0, squares[j] / data.Count - m * m);
            mean[j] = (float)m;
            scale[j] = variance > 1e-12 ? (float)(1 / Math.Sqrt(variance)) : 1f;
        }
        return new(mean, scale);
    }

    /// <summary>The rows of <paramref name="data"/>, standardized (new arrays; the input is not changed).</summary>
    public Bottlenecks Apply(Bottlenecks data) => new(
        [.. data.Features.Select(row =>
        {
            var z = new float[row.Length];
            for (int j = 0; j < row.Length; j++) z[j] = (row[j] - mean[j]) * scale[j];
            return z;
        })],
        data.Labels);

    /// <summary>
    /// The layer that gives, on raw values x, the logits <paramref name="weights"/>·z + <paramref name="bias"/> gave on the
    /// standardized z: W'ₖⱼ = Wₖⱼ·sⱼ and b'ₖ = bₖ − Σⱼ Wₖⱼ·sⱼ·μⱼ.
    /// </summary>
    public (float[][] Weights, float[] Bias) Fold(float[][] weights, float[] bias)
    {
        var w = new float[weights.Length][];
        var b = new float[bias.Length];
        for (int k = 0; k < weights.Length; k++)
        {
            w[k] = new float[weights[k].Length];
            double shift = 0;
            for (int j = 0; j < w[k].Length; j++)
            {
                w[k][j] = weights[k][j] * scale[j];
                shift += (double)w[k][j] * mean[j];
            }
            b[k] = (float)(bias[k] - shift);
        }
        return (w, b);
    }
}
