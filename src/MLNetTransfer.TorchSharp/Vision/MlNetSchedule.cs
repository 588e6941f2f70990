using System.Reflection;
using Microsoft.ML.Trainers;
using MLNetTransfer.Training;

namespace MLNetTransfer.Vision;

/// <summary>
/// One of ML.NET's own learning-rate schedulers (ExponentialLRDecay, PolynomialLRDecay, LsrDecay: public classes whose
/// rate function is internal) as this library's schedule. The rate comes from ML.NET's own code, called by reflection with
/// the train state ML.NET gives it (epoch, batch index in the epoch, batch size, batches per epoch), so it is the rate
/// ML.NET would use at that step. ML.NET 6.0.x is pinned; a change there fails at construction, not silently.
/// </summary>
internal sealed record MlNetSchedule : LearningRateSchedule
{
    private static readonly MethodInfo RateMethod = typeof(LearningRateScheduler).GetMethod("GetLearningRate", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new MissingMethodException("ML.NET's LearningRateScheduler.GetLearningRate changed; this MLNetTransfer build needs Microsoft.ML 6.0.x.");
    private static readonly Type StateType = typeof(LearningRateScheduler).Assembly.GetType("Microsoft.ML.Trainers.DnnTrainState")
        ?? throw new MissingMemberException("ML.NET's DnnTrainState changed; this MLNetTransfer build needs Microsoft.ML 6.0.x.");

    private readonly LearningRateScheduler scheduler;
    private readonly int batchSize;

    public MlNetSchedule(LearningRateScheduler scheduler, int batchSize)
    {
        this.scheduler = scheduler;
        this.batchSize = batchSize;
        Name = scheduler.GetType().Name;
    }

    /// <summary>The scheduler's class name (part of the training workspace's fingerprint).</summary>
    public string Name { get; }

    public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch)
    {
        int perEpoch = Math.Max(1, stepsPerEpoch);
        var state = Activator.CreateInstance(StateType, nonPublic: true)!;
        Set(state, "CurrentEpoch", (int)(step / perEpoch));
        Set(state, "CurrentBatchIndex", (int)(step % perEpoch));
        Set(state, "BatchSize", batchSize);
        Set(state, "BatchesPerEpoch", perEpoch);
        return (float)RateMethod.Invoke(scheduler, [state])!;
    }

    private static void Set(object state, string field, int value) =>
        (StateType.GetField(field) ?? throw new MissingFieldException(StateType.FullName, field)).SetValue(state, value);
}
