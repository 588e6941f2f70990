namespace MLNetTransfer.Training;

/// <summary>What early stopping watches.</summary>
public enum EarlyStoppingMetric
{
    /// <summary>Validation accuracy; higher is better.</summary>
    Accuracy,
    /// <summary>Validation loss; lower is better.</summary>
    Loss,
}

/// <summary>
/// Stops training when the watched validation metric has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> consecutive epochs (ImageClassificationTrainer's semantics; the best loss starts at +∞ and the
/// best accuracy at −∞, so the first epoch always counts as an improvement).
/// </summary>
public sealed class EarlyStopping(int patience = 3, double minDelta = 0.0, EarlyStoppingMetric metric = EarlyStoppingMetric.Accuracy)
{
    /// <summary>Epochs without improvement tolerated. Default 3.</summary>
    public int Patience { get; } = patience >= 1 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), "patience must be at least 1.");

    /// <summary>Smallest change that counts as an improvement. Default 0.</summary>
    public double MinDelta { get; } = minDelta >= 0 ? minDelta : throw new ArgumentOutOfRangeException(nameof(minDelta), "minDelta must be >= 0.");

    /// <summary>The watched metric. Default accuracy.</summary>
    public EarlyStoppingMetric Metric { get; } = metric;

    /// <summary>Best value seen so far.</summary>
    public double Best { get; private set; } = metric == EarlyStoppingMetric.Loss ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>Epoch (0-based) of the best value, or -1.</summary>
    public int BestEpoch { get; private set; } = -1;

    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>Records an epoch's value; returns (improved, shouldStop). A NaN never improves.</summary>
    public (bool Improved, bool Stop) Update(int epoch, double value)
    {
        bool improved = !double.IsNaN(value) && (Metric == EarlyStoppingMetric.Loss ? value < Best - MinDelta : value > Best + MinDelta);
        if (improved) { Best = value; BestEpoch = epoch; Wait = 0; }
        else Wait++;
        return (improved, Wait >= Patience);
    }

    /// <summary>The configuration (not the state): what decides whether a checkpoint belongs to the same run.</summary>
    public override string ToString() => FormattableString.Invariant($"EarlyStopping(patience {Patience}, minDelta {MinDelta}, {Metric})");

    /// <summary>Restores the state saved in a checkpoint (for resume).</summary>
    public void Restore(double best, int bestEpoch, int wait) { Best = best; BestEpoch = bestEpoch; Wait = wait; }
}
