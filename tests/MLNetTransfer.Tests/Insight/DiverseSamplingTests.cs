using MLNetTransfer.Insight;

namespace MLNetTransfer.Tests.Insight;

public class DiverseSamplingTests
{
    // Three tight clusters of four near-duplicate embeddings each.
    private static readonly float[][] Candidates =
    [
        .. Enumerable.Range(0, 4).Select(i => new[] { 1f, 0.01f * i, 0f }),
        .. Enumerable.Range(0, 4).Select(i => new[] { 0.01f * i, 1f, 0f }),
        .. Enumerable.Range(0, 4).Select(i => new[] { 0f, 0.01f * i, 1f }),
    ];

    private static float[] Row(float top) => [top, 1 - top];

    [Fact]
    public void Plain_uncertainty_takes_near_duplicates_where_diverse_takes_the_most_uncertain_of_each_cluster()
    {
        // Cluster A is the most uncertain overall; within B, candidate 6 is; within C, candidate 9.
        float[][] probabilities = [Row(0.50f), Row(0.51f), Row(0.52f), Row(0.53f), Row(0.70f), Row(0.69f), Row(0.60f), Row(0.68f),
                                   Row(0.80f), Row(0.65f), Row(0.79f), Row(0.78f)];
        Assert.Equal([0, 1, 2], UncertaintySampling.MostUncertain(probabilities, 3, UncertaintyMeasure.Margin));
        Assert.Equal([0, 6, 9], DiverseSampling.Select(probabilities, Candidates, 3, UncertaintyMeasure.Margin, poolFactor: 4));
    }

    [Fact]
    public void Confident_candidates_never_enter_the_shortlist()
    {
        var probabilities = Candidates.Select((_, i) => i >= 8 ? Row(0.99f) : Row(0.5f)).ToArray();
        var picks = DiverseSampling.Select(probabilities, Candidates, 2, UncertaintyMeasure.Margin, poolFactor: 4);
        Assert.Equal([0, 1], picks.Select(i => i / 4).Order()); // one from A, one from B, none from the confident C
    }

    [Fact]
    public void Factor_one_is_plain_uncertainty_sampling_and_duplicates_still_fill_the_batch()
    {
        var probabilities = Candidates.Select((_, i) => Row(0.5f + 0.03f * i)).ToArray();
        Assert.Equal(UncertaintySampling.MostUncertain(probabilities, 3, UncertaintyMeasure.Entropy),
            DiverseSampling.Select(probabilities, Candidates, 3, UncertaintyMeasure.Entropy, poolFactor: 1));
        // Twelve identical points cannot form 5 clusters: the batch is still 5 distinct images.
        var same = Candidates.Select(_ => new[] { 1f, 0f, 0f }).ToArray();
        var picks = DiverseSampling.Select(probabilities, same, 5, UncertaintyMeasure.Margin, poolFactor: 2);
        Assert.Equal(5, picks.Distinct().Count());
    }
}
