using System.Reflection;
using Microsoft.ML.Trainers;

namespace MLNetTransfer.Vision;

/// <summary>
/// The rate one of ML.NET's own learning-rate schedulers (ExponentialLRDecay, PolynomialLRDecay, LsrDecay: public classes
/// whose rate function is internal) gives at a training step. The rate comes from ML.NET's own code, called by reflection
/// with the train state ML.NET's image classification trainer gives it (epoch, batch index in the epoch, batch size, and
/// batches per epoch counted as ML.NET counts them: whole batches only), so it is the rate ML.NET would use at that step.
/// Microsoft.ML 6.0.x is pinned; a change there fails when the trainer is created, not silently.
/// </summary>
internal sealed class MlNetSchedule
{
    private static readonly MethodInfo? RateMethod =
        typeof(LearningRateScheduler).GetMethod("GetLearningRate", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly Type? StateType = typeof(LearningRateScheduler).Assembly.GetType("Microsoft.ML.Trainers.DnnTrainState");

    private readonly LearningRateScheduler scheduler;
    private readonly object state;

    /// <exception cref="MissingMemberException">ML.NET's internal scheduler API changed.</exception>
    public MlNetSchedule(LearningRateScheduler scheduler, int batchSize, int trainingExamples)
    {
        if (RateMethod is null || StateType is null)
            throw new MissingMemberException("ML.NET's LearningRateScheduler.GetLearningRate or DnnTrainState changed; this MLNetTransfer build needs Microsoft.ML 6.0.x.");
        this.scheduler = scheduler;
        state = Activator.CreateInstance(StateType, nonPublic: true)!;
        Set("BatchSize", batchSize);
        // ML.NET counts whole batches only, and divides by zero (a NaN rate) when the set is smaller than one batch: count one.
        Set("BatchesPerEpoch", Math.Max(1, trainingExamples / batchSize));
    }

    /// <summary>The scheduler's class name.</summary>
    public string Name => scheduler.GetType().Name;

    /// <summary>The rate at batch <paramref name="batchIndex"/> (0-based, within the epoch) of epoch <paramref name="epoch"/> (0-based).</summary>
    public float Rate(int epoch, int batchIndex)
    {
        Set("CurrentEpoch", epoch);
        Set("CurrentBatchIndex", batchIndex);
        float rate = (float)RateMethod!.Invoke(scheduler, [state])!;
        if (!float.IsFinite(rate) || rate < 0)
            throw new InvalidOperationException($"ImageClassificationTrainer.Options.LearningRateScheduler ({Name}) gave the rate {rate} at epoch {epoch}, batch {batchIndex}; check its settings.");
        return rate;
    }

    private void Set(string field, int value) =>
        (StateType!.GetField(field) ?? throw new MissingFieldException(StateType.FullName, field)).SetValue(state, value);
}
