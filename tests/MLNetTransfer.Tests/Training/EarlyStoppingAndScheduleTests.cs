using MLNetTransfer.Training;

namespace MLNetTransfer.Tests.Training;

public class EarlyStoppingAndScheduleTests
{
    private static int StopEpoch(EarlyStopping es, double[] values)
    {
        for (int e = 0; e < values.Length; e++)
            if (es.Update(e, values[e]).Stop) return e;
        return -1;
    }

    [Fact]
    public void Accuracy_stops_after_patience_epochs_without_improvement()
    {
        var es = new EarlyStopping(patience: 2, minDelta: 0, EarlyStoppingMetric.Accuracy);
        Assert.Equal(3, StopEpoch(es, [0.5, 0.6, 0.6, 0.59, 0.7]));
        Assert.Equal(1, es.BestEpoch);
        Assert.Equal(0.6, es.Best);
    }

    [Fact]
    public void Loss_starts_at_infinity_and_min_delta_counts()
    {
        var es = new EarlyStopping(patience: 2, minDelta: 0.05, EarlyStoppingMetric.Loss);
        Assert.Equal(double.PositiveInfinity, es.Best);
        Assert.True(es.Update(0, 5.0).Improved); // any first loss improves on +inf
        Assert.True(es.Update(1, 0.8).Improved);
        Assert.False(es.Update(2, 0.78).Improved); // better, but by less than minDelta
        Assert.True(es.Update(3, 0.79).Stop);
        Assert.Equal(1, es.BestEpoch);
    }

    [Fact]
    public void Nan_never_improves()
    {
        var es = new EarlyStopping(patience: 1, metric: EarlyStoppingMetric.Loss);
        es.Update(0, 1.0);
        Assert.Equal((false, true), es.Update(1, double.NaN));
    }

    [Fact]
    public void Schedules_follow_their_formulas()
    {
        Assert.Equal(0.1, LearningRateSchedule.Cosine().Rate(0.1, 0, 101, 10), 12);
        Assert.Equal(0.05, LearningRateSchedule.Cosine().Rate(0.1, 50, 101, 10), 12);
        Assert.Equal(0.0, LearningRateSchedule.Cosine().Rate(0.1, 100, 101, 10), 12);
        Assert.Equal(0.1 * 0.5 * 0.5, LearningRateSchedule.Exponential(0.5).Rate(0.1, 25, 100, 10), 12); // staircase: 2 decays
        Assert.Equal(1e-4, LearningRateSchedule.Polynomial(1e-4).Rate(0.1, 99, 100, 10), 12);
        var oneCycle = LearningRateSchedule.OneCycle(maxFactor: 2, warmupFraction: 0.3);
        Assert.Equal(0.2 * 0.04, oneCycle.Rate(0.1, 0, 100, 10), 12);
        Assert.Equal(0.2, Enumerable.Range(0, 100).Max(s => oneCycle.Rate(0.1, s, 100, 10)), 2);
    }
}
