namespace MLNetTransfer.Training;

/// <summary>
/// A learning-rate schedule as a pure function of progress, so a resumed run gets exactly the rates of an
/// uninterrupted one. <c>step</c> counts optimizer steps from 0 over the whole run.
/// </summary>
public abstract record LearningRateSchedule
{
    /// <summary>The rate for optimizer step <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public abstract double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch);

    /// <summary>The base rate throughout.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>ImageClassificationTrainer's exponential decay: base · decayRate^(step / decaySteps), optionally staircase.</summary>
    public static LearningRateSchedule Exponential(double decayRate = 0.94, int decaySteps = 0, bool staircase = true) =>
        new ExponentialDecay(decayRate, decaySteps, staircase);

    /// <summary>ImageClassificationTrainer's polynomial decay from base to <paramref name="endRate"/> with <paramref name="power"/>.</summary>
    public static LearningRateSchedule Polynomial(double endRate = 1e-4, double power = 1.0) => new PolynomialDecay(endRate, power);

    /// <summary>Cosine annealing from base to <paramref name="minRate"/> over the run.</summary>
    public static LearningRateSchedule Cosine(double minRate = 0) => new CosineDecay(minRate);

    /// <summary>One-cycle: linear warm-up to <paramref name="maxFactor"/>·base over <paramref name="warmupFraction"/>, then cosine to ~0.</summary>
    public static LearningRateSchedule OneCycle(double maxFactor = 1.0, double warmupFraction = 0.3) => new OneCycleSchedule(maxFactor, warmupFraction);

    private sealed record ConstantSchedule : LearningRateSchedule
    {
        public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch) => baseRate;
    }

    private sealed record ExponentialDecay(double DecayRate, int DecaySteps, bool Staircase) : LearningRateSchedule
    {
        public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch)
        {
            double every = DecaySteps > 0 ? DecaySteps : Math.Max(1, stepsPerEpoch); // default: decay once per epoch
            double p = step / every;
            return baseRate * Math.Pow(DecayRate, Staircase ? Math.Floor(p) : p);
        }
    }

    private sealed record PolynomialDecay(double EndRate, double Power) : LearningRateSchedule
    {
        public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch)
        {
            double t = totalSteps <= 1 ? 1 : Math.Min(1, (double)step / (totalSteps - 1));
            return (baseRate - EndRate) * Math.Pow(1 - t, Power) + EndRate;
        }
    }

    private sealed record CosineDecay(double MinRate) : LearningRateSchedule
    {
        public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch)
        {
            double t = totalSteps <= 1 ? 1 : Math.Min(1, (double)step / (totalSteps - 1));
            return MinRate + (baseRate - MinRate) * 0.5 * (1 + Math.Cos(Math.PI * t));
        }
    }

    private sealed record OneCycleSchedule(double MaxFactor, double WarmupFraction) : LearningRateSchedule
    {
        public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch)
        {
            double peak = baseRate * MaxFactor;
            long warm = Math.Max(1, (long)(totalSteps * WarmupFraction));
            if (step < warm) return peak * (0.04 + 0.96 * step / warm); // starts at peak/25 like PyTorch's OneCycleLR
            double t = Math.Min(1, (double)(step - warm) / Math.Max(1, totalSteps - warm - 1));
            return peak * (1e-4 + (1 - 1e-4) * 0.5 * (1 + Math.Cos(Math.PI * t)));
        }
    }
}
