using System.Numerics.Tensors;
using MLNetTransfer.IO;

namespace MLNetTransfer.Insight;

/// <summary>One image's nearest neighbour by cosine similarity.</summary>
/// <param name="Index">The image.</param>
/// <param name="Other">The most similar other image.</param>
/// <param name="Similarity">Their cosine similarity.</param>
public sealed record Neighbor(int Index, int Other, float Similarity);

/// <summary>Cosine similarity of embeddings: the full matrix, k nearest neighbours, and a labelled heat map.</summary>
public static class EmbeddingSimilarity
{
    /// <summary>
    /// The n×n cosine similarity matrix, computed as normalized rows times their transpose with vectorized dot products
    /// (System.Numerics.Tensors); zero vectors get similarity 0. With <paramref name="center"/>, the mean embedding is
    /// subtracted first: pooled ReLU features are all positive and share a large common direction that otherwise makes
    /// every pair look alike.
    /// </summary>
    public static float[,] CosineMatrix(IReadOnlyList<float[]> embeddings, bool center = false)
    {
        int n = embeddings.Count;
        if (center && n > 0)
        {
            var mean = new float[embeddings[0].Length];
            foreach (var e in embeddings) TensorPrimitives.Add(mean, e, mean);
            TensorPrimitives.Divide(mean, n, mean);
            embeddings = [.. embeddings.Select(e => { var c = new float[e.Length]; TensorPrimitives.Subtract(e, mean, c); return c; })];
        }
        var unit = embeddings.Select(Normalize).ToArray();
        var result = new float[n, n];
        Parallel.For(0, n, i =>
        {
            for (int j = i; j < n; j++)
            {
                float s = TensorPrimitives.Dot(unit[i], unit[j]);
                result[i, j] = s;
                result[j, i] = s;
            }
        });
        return result;
    }

    /// <summary>The k most similar other images of each image (exact, from the full matrix), most similar first.</summary>
    public static IReadOnlyList<IReadOnlyList<Neighbor>> NearestNeighbors(float[,] similarity, int k)
    {
        int n = similarity.GetLength(0);
        var result = new IReadOnlyList<Neighbor>[n];
        for (int i = 0; i < n; i++)
            result[i] = [.. Enumerable.Range(0, n).Where(j => j != i).OrderByDescending(j => similarity[i, j]).ThenBy(j => j)
                .Take(k).Select(j => new Neighbor(i, j, similarity[i, j]))];
        return result;
    }

    /// <summary>Writes the matrix as a PNG heat map, rows and columns labelled (atomically), and returns the picture.</summary>
    public static Evaluation.PngImage SaveHeatmap(float[,] similarity, IReadOnlyList<string> labels, string path, string title = "Cosine similarity of embeddings")
    {
        int n = similarity.GetLength(0);
        var data = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) data[i, j] = similarity[i, j];
        var plot = Evaluation.Plots.New(title);
        var heatmap = Evaluation.Plots.Heatmap(plot, data, new ScottPlot.Colormaps.Viridis(), -1, 1);
        plot.Add.ColorBar(heatmap);
        float fontSize = n > 40 ? 7 : 10;
        Evaluation.Plots.Categories(plot.Axes.Bottom, labels, fontSize: fontSize, rotation: -90);
        Evaluation.Plots.Categories(plot.Axes.Left, labels, reversed: true, fontSize: fontSize);
        int side = Math.Clamp(200 + 14 * n, 500, 2400);
        var image = new Evaluation.PngImage(Evaluation.Plots.Png(plot, side, side));
        AtomicFile.WriteAllBytes(path, image.Bytes);
        return image;
    }

    /// <summary>A unit-length copy (zeros stay zeros).</summary>
    internal static float[] Normalize(float[] v)
    {
        float norm = TensorPrimitives.Norm(v);
        var u = new float[v.Length];
        if (norm > 0) TensorPrimitives.Divide(v, norm, u);
        return u;
    }
}
