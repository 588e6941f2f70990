using MLNetTransfer.Backbones;

namespace MLNetTransfer.Training;

/// <summary>How much of the pretrained network is trained.</summary>
public enum TransferStrategy
{
    /// <summary>Replace the output layer; the backbone stays frozen (ImageClassificationTrainer's only mode).</summary>
    HeadOnly,
    /// <summary>Train the new head first (warm-up), then also the last <see cref="TransferLearningOptions.UnfrozenBlocks"/> blocks at a lower rate.</summary>
    PartialRetrain,
    /// <summary>Train everything at a low rate, earlier blocks scaled down by <see cref="TransferLearningOptions.LayerwiseLrFactor"/>.</summary>
    FullFineTune,
    /// <summary>A small CNN from random weights (3 conv + max-pool blocks, global average pooling, dense): the baseline.</summary>
    Scratch,
}

/// <summary>The new classifier head.</summary>
public enum HeadKind
{
    /// <summary>One Linear layer (dropout before it when <see cref="TransferLearningOptions.DropoutRate"/> &gt; 0).</summary>
    Linear,
    /// <summary>The classic Keras transfer-learning head: Dropout → Dense(1024, ReLU) → BatchNorm → Dense.</summary>
    Keras,
}

/// <summary>The optimizer.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum 0.9 (Nesterov off).</summary>
    SgdMomentum,
    /// <summary>Adam.</summary>
    Adam,
    /// <summary>AdamW (decoupled weight decay).</summary>
    AdamW,
    /// <summary>Plain SGD without momentum (ImageClassificationTrainer's gradient descent).</summary>
    Sgd,
}

/// <summary>Data augmentation applied to training batches only (seeded, so runs repeat).</summary>
[Flags]
public enum Augment
{
    /// <summary>None: the bottleneck cache can be used.</summary>
    None = 0,
    /// <summary>Random horizontal flip.</summary>
    Flip = 1,
    /// <summary>Random crop after padding by 1/8 of the side (reflect).</summary>
    Crop = 2,
    /// <summary>Random rotation of up to ±10°.</summary>
    Rotate = 4,
    /// <summary>Brightness/contrast/saturation jitter of ±20%.</summary>
    ColorJitter = 8,
    /// <summary>Flip and crop: the usual CIFAR recipe.</summary>
    FlipAndCrop = Flip | Crop,
}

/// <summary>
/// Options of the TransferLearning trainer. The names follow ML.NET's ImageClassificationTrainer where it has the
/// option (Arch → <see cref="Backbone"/>, Epoch, BatchSize, LearningRate, LearningRateScheduler, EarlyStoppingCriteria,
/// MetricsCallback, WorkspacePath, ValidationSet, ValidationSetFraction) and add what it lacks. The bottleneck cache lives
/// in the workspace and is always reused when it matches (ReuseTrainSetBottleneckCachedValues, without a switch); TestOnTrainSet
/// is not carried over (training accuracy is reported every epoch anyway). A record: derive a variant with
/// <c>options with { Epochs = 20 }</c>; the trainer checks every option once, when it is constructed.
/// </summary>
public sealed record TransferLearningOptions
{
    /// <summary>Image path column (text). Default <c>ImagePath</c>.</summary>
    [DoesNotChangeTraining]
    public string ImageColumnName { get; init; } = "ImagePath";

    /// <summary>Label column (key). Default <c>Label</c>.</summary>
    [DoesNotChangeTraining]
    public string LabelColumnName { get; init; } = "Label";

    /// <summary>Score column produced (class probabilities). Default <c>Score</c>.</summary>
    [DoesNotChangeTraining]
    public string ScoreColumnName { get; init; } = "Score";

    /// <summary>Predicted label column produced (key, same key values as the label). Default <c>PredictedLabel</c>.</summary>
    [DoesNotChangeTraining]
    public string PredictedLabelColumnName { get; init; } = "PredictedLabel";

    /// <summary>Pretrained backbone (catalog entry or ONNX file). Ignored by <see cref="TransferStrategy.Scratch"/>. Default MobileNetV2-int8.</summary>
    public BackboneInfo Backbone { get; init; } = BackboneCatalog.MobileNetV2Int8;

    /// <summary>Where backbone files are found. Default: <c>$MLNETTRANSFER_ASSETS</c>, then the user cache.</summary>
    [DoesNotChangeTraining]
    public AssetResolver Assets { get; init; } = AssetResolver.Default;

    /// <summary>Strategy. Default <see cref="TransferStrategy.HeadOnly"/>.</summary>
    public TransferStrategy Strategy { get; init; } = TransferStrategy.HeadOnly;

    /// <summary>Blocks (from the end) trained by <see cref="TransferStrategy.PartialRetrain"/>. Default 3.</summary>
    public int UnfrozenBlocks { get; init; } = 3;

    /// <summary>Head-only epochs before unfreezing (PartialRetrain). Default 2.</summary>
    public int WarmupEpochs { get; init; } = 2;

    /// <summary>Rate multiplier for unfrozen backbone blocks relative to the head. Default 0.1.</summary>
    public double BackboneLrFactor { get; init; } = 0.1;

    /// <summary>FullFineTune: each earlier block's rate is multiplied by this once more (layer-wise decay). Default 0.8.</summary>
    public double LayerwiseLrFactor { get; init; } = 0.8;

    /// <summary>Total epochs. Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Batch size. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Base learning rate (the head's). Default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Schedule over the run. Default cosine decay to 0.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine();

    /// <summary>Optimizer. Default Adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>L2 penalty / weight decay (decoupled for AdamW). Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>L1 penalty added to the loss (on trainable weights). Default 0.</summary>
    public double L1 { get; init; }

    /// <summary>Dropout before the head's last layer. Default 0.2.</summary>
    public double DropoutRate { get; init; } = 0.2;

    /// <summary>Head. Default <see cref="HeadKind.Linear"/>.</summary>
    public HeadKind Head { get; init; } = HeadKind.Linear;

    /// <summary>Augmentation on training batches. Default none (enables the bottleneck cache).</summary>
    public Augment Augmentation { get; init; } = Augment.None;

    /// <summary>Side of the square image the network sees. Default 96 (224 costs ~5× more on a CPU).</summary>
    public int ImageSize { get; init; } = 96;

    /// <summary>Stop early on the validation metric; null trains all epochs. Default null.</summary>
    public EarlyStopping? EarlyStopping { get; init; }

    /// <summary>Fraction of the training data held out for validation when <see cref="ValidationSet"/> is null. Default 0.1.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>An explicit validation set (same schema as the training data). Default null.</summary>
    public Microsoft.ML.IDataView? ValidationSet { get; init; }

    /// <summary>
    /// Folder for checkpoints, the bottleneck cache (memory-mapped files, reused by later runs with the same data and frozen
    /// weights), metrics.csv and TensorBoard events; a run resumes from the last checkpoint found there when every setting that changes
    /// training (all options but column names, callbacks and folders), the data and the starting weights are the same;
    /// otherwise it starts fresh and says so through <see cref="Log"/>. Default null: a
    /// fresh temp folder (under the caller's <c>MLContext.TempFilePath</c>), deleted after training.
    /// </summary>
    [DoesNotChangeTraining]
    public string? WorkspacePath { get; init; }

    // Where the temporary workspace goes when WorkspacePath is null: the caller's MLContext.TempFilePath, set by the trainer.
    internal string? TemporaryRoot { get; init; }

    /// <summary>
    /// Continue training a network saved by an earlier run (a folder with <c>network.json</c>, e.g. the CLI's output
    /// folder) instead of starting from the backbone: same classes, its body and head as the starting weights. Default null.
    /// </summary>
    public string? ContinueFrom { get; init; }

    /// <summary>Random seed (split, shuffling, augmentation, head init). Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Called after each epoch with its metrics (ImageClassificationTrainer's MetricsCallback). Default null.</summary>
    [DoesNotChangeTraining]
    public Action<EpochMetrics>? MetricsCallback { get; init; }

    /// <summary>
    /// Called when training resumes from a checkpoint in <see cref="WorkspacePath"/>, with the number of epochs already
    /// done (a run that was interrupted continues where its last checkpoint left it). Default null.
    /// </summary>
    [DoesNotChangeTraining]
    public Action<int>? ResumeCallback { get; init; }

    /// <summary>
    /// Called with one-line messages meant for a person, such as that <see cref="WorkspacePath"/> held a run with other
    /// settings and training starts fresh (and which settings differ). Default null.
    /// </summary>
    [DoesNotChangeTraining]
    public Action<string>? Log { get; init; }

    /// <summary>Called during an epoch with (epoch, images done, images in epoch) for progress bars. Default null.</summary>
    [DoesNotChangeTraining]
    public Action<int, long, long>? Progress { get; init; }

    /// <summary>Checks every option once, at construction; the message names the option and the allowed range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">A column name is empty or the backbone is missing.</exception>
    internal TransferLearningOptions Validate()
    {
        static void Require(bool ok, string option, object? value, string range)
        {
            if (!ok) throw new ArgumentOutOfRangeException(option, value, $"TransferLearningOptions.{option} must be {range}; got {value}.");
        }
        foreach (var (name, value) in new[] { (nameof(ImageColumnName), ImageColumnName), (nameof(LabelColumnName), LabelColumnName),
                     (nameof(ScoreColumnName), ScoreColumnName), (nameof(PredictedLabelColumnName), PredictedLabelColumnName) })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"TransferLearningOptions.{name} must name a column.", name);
        if (Backbone is null && Strategy != TransferStrategy.Scratch) throw new ArgumentException("TransferLearningOptions.Backbone must be set.", nameof(Backbone));
        if (Strategy != TransferStrategy.Scratch && Backbone!.Embedding.PooledBlocks.Count > 0)
            throw new ArgumentException($"TransferLearningOptions.Backbone: '{Backbone.Name}' has multi-block features, which are for featurization only; " +
                                        "fine-tune its single-cut variant (e.g. mobilenetv2-dequantized).", nameof(Backbone));
        Require(Epochs >= 1, nameof(Epochs), Epochs, "at least 1");
        Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "at least 1");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "a positive number");
        Require(ValidationFraction >= 0 && ValidationFraction < 1, nameof(ValidationFraction), ValidationFraction, "in [0, 1)");
        Require(ImageSize >= 16, nameof(ImageSize), ImageSize, "at least 16 pixels");
        Require(UnfrozenBlocks >= 0, nameof(UnfrozenBlocks), UnfrozenBlocks, "0 or more");
        Require(WarmupEpochs >= 0, nameof(WarmupEpochs), WarmupEpochs, "0 or more");
        Require(DropoutRate >= 0 && DropoutRate < 1, nameof(DropoutRate), DropoutRate, "in [0, 1)");
        Require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "0 or more");
        Require(L1 >= 0, nameof(L1), L1, "0 or more");
        Require(BackboneLrFactor > 0, nameof(BackboneLrFactor), BackboneLrFactor, "a positive number");
        Require(LayerwiseLrFactor > 0, nameof(LayerwiseLrFactor), LayerwiseLrFactor, "a positive number");
        if (Schedule is null) throw new ArgumentException("TransferLearningOptions.Schedule must be set (e.g. LearningRateSchedule.Constant).", nameof(Schedule));
        if (Assets is null) throw new ArgumentException("TransferLearningOptions.Assets must be set (e.g. AssetResolver.Default).", nameof(Assets));
        return this;
    }
}
