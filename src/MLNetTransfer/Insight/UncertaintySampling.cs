namespace MLNetTransfer.Insight;

/// <summary>How uncertain a prediction is, from its class probabilities (higher = more uncertain, for every measure).</summary>
public enum UncertaintyMeasure
{
    /// <summary>1 − max probability.</summary>
    LeastConfidence,
    /// <summary>1 − (top probability − second probability).</summary>
    Margin,
    /// <summary>Shannon entropy −Σ p log p (natural log).</summary>
    Entropy,
}

/// <summary>Uncertainty scores over an unlabelled pool, to choose which images a person should label next.</summary>
public static class UncertaintySampling
{
    /// <summary>The uncertainty of one probability row.</summary>
    public static double Score(ReadOnlySpan<float> probabilities, UncertaintyMeasure measure)
    {
        if (probabilities.Length == 0) throw new ArgumentException("empty probability row");
        float top = float.MinValue, second = float.MinValue;
        double entropy = 0;
        foreach (var p in probabilities)
        {
            if (p > top) { second = top; top = p; }
            else if (p > second) second = p;
            if (p > 0) entropy -= p * Math.Log(p);
        }
        if (probabilities.Length == 1) second = 0;
        return measure switch
        {
            UncertaintyMeasure.LeastConfidence => 1 - top,
            UncertaintyMeasure.Margin => 1 - (top - second),
            UncertaintyMeasure.Entropy => entropy,
            _ => throw new ArgumentOutOfRangeException(nameof(measure)),
        };
    }

    /// <summary>Indices of the <paramref name="k"/> most uncertain rows, most uncertain first (ties: lower index first).</summary>
    public static int[] MostUncertain(IReadOnlyList<float[]> probabilities, int k, UncertaintyMeasure measure) =>
        [.. Enumerable.Range(0, probabilities.Count).OrderByDescending(i => Score(probabilities[i], measure)).ThenBy(i => i).Take(k)];
}
