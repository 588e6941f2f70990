namespace MLNetTransfer.Insight;

/// <summary>
/// Uncertainty sampling with diversity (in the spirit of Cluster-Margin, Citovsky et al. 2021): the <c>poolFactor × k</c>
/// most uncertain candidates are clustered into k groups (k-means on L2-normalized embeddings, k-means++ seeding), and the
/// most uncertain image of each group is asked for. Plain top-k uncertainty tends to ask for near-duplicates along one
/// decision boundary; one image per cluster spreads the batch without chasing outliers.
/// </summary>
public static class DiverseSampling
{
    /// <summary>Indices (into <paramref name="candidates"/>) of <paramref name="k"/> images to label next, most uncertain first.</summary>
    /// <param name="probabilities">Class probabilities of each candidate.</param>
    /// <param name="candidates">Embeddings of the candidates (same order).</param>
    /// <param name="k">How many to pick.</param>
    /// <param name="measure">Uncertainty measure.</param>
    /// <param name="poolFactor">Shortlist size as a multiple of <paramref name="k"/>; 1 is plain uncertainty sampling.</param>
    /// <param name="seed">Seed of the k-means++ initialization.</param>
    public static int[] Select(IReadOnlyList<float[]> probabilities, IReadOnlyList<float[]> candidates, int k, UncertaintyMeasure measure,
        int poolFactor = 10, int seed = 1)
    {
        if (probabilities.Count != candidates.Count) throw new ArgumentException("one probability row per candidate embedding is needed");
        if (poolFactor < 1) throw new ArgumentOutOfRangeException(nameof(poolFactor), poolFactor, "must be at least 1");
        var shortlist = UncertaintySampling.MostUncertain(probabilities, Math.Min(candidates.Count, k * poolFactor), measure);
        if (shortlist.Length <= k) return shortlist;
        var points = shortlist.Select(i => EmbeddingSimilarity.Normalize(candidates[i])).ToArray();
        var cluster = KMeans(points, k, new Random(seed));
        // The shortlist is ordered most uncertain first, so the first member seen of each cluster is its most uncertain.
        var picked = new List<int>(k);
        var seen = new HashSet<int>();
        for (int j = 0; j < shortlist.Length && picked.Count < k; j++)
            if (seen.Add(cluster[j])) picked.Add(shortlist[j]);
        // Empty clusters (duplicates) leave room: fill with the next most uncertain.
        foreach (var i in shortlist)
        {
            if (picked.Count >= k) break;
            if (!picked.Contains(i)) picked.Add(i);
        }
        return [.. picked.OrderBy(i => Array.IndexOf(shortlist, i))];
    }

    /// <summary>Lloyd's k-means with k-means++ seeding; returns each point's cluster.</summary>
    internal static int[] KMeans(float[][] points, int k, Random random, int iterations = 20)
    {
        int n = points.Length;
        var centers = new List<float[]> { points[random.Next(n)] };
        var nearest = points.Select(p => Distance2(p, centers[0])).ToArray();
        while (centers.Count < k)
        {
            double total = nearest.Sum(), r = random.NextDouble() * total;
            int next = 0;
            for (double acc = 0; next < n - 1 && (acc += nearest[next]) < r; next++) { }
            centers.Add(points[next]);
            for (int j = 0; j < n; j++) nearest[j] = Math.Min(nearest[j], Distance2(points[j], points[next]));
        }
        var assignment = new int[n];
        for (int it = 0; it < iterations; it++)
        {
            bool changed = it == 0;
            for (int j = 0; j < n; j++)
            {
                int best = 0;
                double bestD = double.MaxValue;
                for (int c = 0; c < k; c++)
                {
                    double d = Distance2(points[j], centers[c]);
                    if (d < bestD) (bestD, best) = (d, c);
                }
                if (assignment[j] != best) { assignment[j] = best; changed = true; }
            }
            if (!changed) break;
            for (int c = 0; c < k; c++)
            {
                var members = Enumerable.Range(0, n).Where(j => assignment[j] == c).ToList();
                if (members.Count == 0) continue;
                var mean = new float[points[0].Length];
                foreach (var j in members) for (int d = 0; d < mean.Length; d++) mean[d] += points[j][d] / members.Count;
                centers[c] = mean;
            }
        }
        return assignment;
    }

    private static double Distance2(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; s += d * d; }
        return s;
    }
}
