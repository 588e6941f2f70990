using MLNetTransfer.Hosting;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Training;

namespace MLNetTransfer.Vision;

/// <summary>
/// A drop-in for Microsoft.ML.Vision's <c>ImageClassificationTrainer</c>: an app written for it compiles and runs with
/// <c>using Microsoft.ML.Vision;</c> replaced by <c>using MLNetTransfer.Vision;</c>. It trains a new classification layer on
/// a frozen pretrained network (ML.NET's transfer-learning mode) with the bottleneck values cached, by gradient descent
/// with ML.NET's learning-rate schedulers and early stopping, on TorchSharp and ONNX Runtime instead of TensorFlow.
/// Input: the encoded image (<c>VBuffer&lt;byte&gt;</c> or <c>byte[]</c>) and a key label. Output, as ML.NET's: <c>Score</c>
/// (class probabilities, a known-size vector summing to 1) and <c>PredictedLabel</c> (a key of the label's type). The
/// fitted model needs no label column, works in a PredictionEngine and with <c>MulticlassClassification.Evaluate</c>, and
/// survives <c>mlContext.Model.Save/Load</c>; before saving, <see cref="TransferLearningTransformer.Run"/> gives the network,
/// its ONNX export and the epoch history. Create it with <c>mlContext.MulticlassClassification.Trainers.ImageClassification</c>.
/// </summary>
public sealed partial class ImageClassificationTrainer : IEstimator<TransferLearningTransformer>
{
    private const string Channel = nameof(ImageClassificationTrainer);
    private readonly MLNetEnvironment env;
    private readonly Options options;
    private readonly Backbones.BackboneInfo backbone;
    private int trainRows;

    internal ImageClassificationTrainer(MLNetEnvironment env, Options options)
    {
        this.env = env;
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        Validate(options);
        var mapping = ArchitectureBackbones.Resolve(options.Arch);
        backbone = mapping.Backbone;
        env.Info(Channel, $"Architecture {options.Arch} runs {mapping.Description} (catalog entry '{backbone.Name}').");
    }

    /// <summary>Trains the classification layer and returns the scoring chain.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type; the message names it and the expected type.</exception>
    /// <exception cref="InvalidDataException">A byte array is not an image; the message names the row.</exception>
    public TransferLearningTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        if (options.ValidationSet is { } validation) GetOutputSchema(SchemaShapes.FromSchema(validation.Schema));
        var transfer = ToTransferLearning();
        var trainer = new TransferLearningTrainer(transfer, env)
        {
            RowRead = options.MetricsCallback is { } callback
                ? (isValidation, index) => callback(new ImageClassificationMetrics
                {
                    Bottleneck = new BottleneckMetrics { DatasetUsed = isValidation ? ImageClassificationMetrics.Dataset.Validation : ImageClassificationMetrics.Dataset.Train, Index = index },
                })
                : null,
            SplitMade = (train, _) => trainRows = train,
        };
        if (options.WorkspacePath is { } workspace) ForgetCachedValues(workspace);
        return trainer.Fit(input);
    }

    /// <summary>Input: the encoded image (vector of bytes) and the label (key). Output: adds Score (known-size float vector) and PredictedLabel (key).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        if (SchemaShapes.Find(inputSchema, options.FeatureColumnName) is not { } image)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Feature column '{options.FeatureColumnName}' not found in the input schema (columns: {string.Join(", ", inputSchema.Select(c => c.Name))}).");
        if (image.Kind == SchemaShape.Column.VectorKind.Scalar || image.ItemType != NumberDataViewType.Byte)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for feature column '{options.FeatureColumnName}': expected Vector<Byte> (the encoded image, e.g. from ml.Transforms.LoadRawImageBytes), got {image.ItemType}{(image.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        return new TransferLearningTrainer(ToTransferLearning(), env).GetOutputSchema(inputSchema);
    }

    private TransferLearningOptions ToTransferLearning()
    {
        bool validation = options.ValidationSet is not null || options.ValidationSetFraction is not null;
        var earlyStopping = options.EarlyStoppingCriteria is { } es
            ? new Training.EarlyStopping(es.Patience, es.MinDelta, es.Metric == EarlyStoppingMetric.Loss ? Training.EarlyStoppingMetric.Loss : Training.EarlyStoppingMetric.Accuracy)
            : null;
        var callback = options.MetricsCallback;
        return new TransferLearningOptions
        {
            ImageColumnName = options.FeatureColumnName,
            LabelColumnName = options.LabelColumnName,
            ScoreColumnName = options.ScoreColumnName,
            PredictedLabelColumnName = options.PredictedLabelColumnName,
            Backbone = backbone,
            Assets = options.Assets,
            // ML.NET's transfer learning: a new softmax layer on the frozen network's bottleneck values, by gradient descent.
            Strategy = TransferStrategy.HeadOnly,
            Head = HeadKind.Linear,
            DropoutRate = 0,
            Optimizer = OptimizerKind.Sgd,
            WeightDecay = 0,
            Augmentation = Augment.None,
            Epochs = options.Epoch,
            BatchSize = options.BatchSize,
            LearningRate = options.LearningRate,
            Schedule = options.LearningRateScheduler is { } scheduler ? new MlNetSchedule(scheduler, options.BatchSize) : LearningRateSchedule.Constant,
            ImageSize = options.ImageSize ?? backbone.InputSize,
            EarlyStopping = earlyStopping,
            ValidationSet = options.ValidationSet,
            ValidationFraction = options.ValidationSet is null ? options.ValidationSetFraction ?? 0 : 0,
            WorkspacePath = options.WorkspacePath,
            Seed = env.Seed ?? Random.Shared.Next(),
            MetricsCallback = callback is null ? null : m => Report(callback, m, validation),
        };
    }

    private void Report(Action<ImageClassificationMetrics> callback, EpochMetrics m, bool validation)
    {
        int batches = (trainRows + options.BatchSize - 1) / options.BatchSize;
        if (options.TestOnTrainSet)
            callback(new ImageClassificationMetrics
            {
                Train = new TrainMetrics
                {
                    DatasetUsed = ImageClassificationMetrics.Dataset.Train, Epoch = m.Epoch, BatchProcessedCount = batches,
                    Accuracy = (float)m.TrainAccuracy, CrossEntropy = (float)m.TrainLoss, LearningRate = (float)m.LearningRate,
                },
            });
        if (validation && !double.IsNaN(m.ValidationAccuracy))
            callback(new ImageClassificationMetrics
            {
                Train = new TrainMetrics
                {
                    DatasetUsed = ImageClassificationMetrics.Dataset.Validation, Epoch = m.Epoch, BatchProcessedCount = batches,
                    Accuracy = (float)m.ValidationAccuracy, CrossEntropy = (float)m.ValidationLoss, LearningRate = (float)m.LearningRate,
                },
            });
    }

    // ML.NET recomputes bottleneck values unless told to reuse them; the cache here is checked against data and weights
    // anyway, so "false" only means: do not reuse what an earlier run left in the workspace.
    private void ForgetCachedValues(string workspace)
    {
        if (!Directory.Exists(workspace)) return;
        if (!options.ReuseTrainSetBottleneckCachedValues)
            foreach (var file in Directory.GetFiles(workspace, "bottleneck-train-*")) File.Delete(file);
        if (!options.ReuseValidationSetBottleneckCachedValues)
            foreach (var file in Directory.GetFiles(workspace, "bottleneck-validation-*")) File.Delete(file);
    }

    private static void Validate(Options o)
    {
        static void Require(bool ok, string option, object? value, string range)
        {
            if (!ok) throw new ArgumentOutOfRangeException(option, value, $"ImageClassificationTrainer.Options.{option} must be {range}; got {value ?? "null"}.");
        }
        foreach (var (name, value) in new[] { (nameof(o.FeatureColumnName), o.FeatureColumnName), (nameof(o.LabelColumnName), o.LabelColumnName),
                     (nameof(o.ScoreColumnName), o.ScoreColumnName), (nameof(o.PredictedLabelColumnName), o.PredictedLabelColumnName) })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"ImageClassificationTrainer.Options.{name} must name a column.", name);
        Require(o.BatchSize >= 1, nameof(o.BatchSize), o.BatchSize, "at least 1");
        Require(o.Epoch >= 1, nameof(o.Epoch), o.Epoch, "at least 1");
        Require(o.LearningRate > 0 && float.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "a positive number");
        Require(o.ValidationSetFraction is null || (o.ValidationSetFraction > 0 && o.ValidationSetFraction < 1), nameof(o.ValidationSetFraction), o.ValidationSetFraction, "in (0, 1) or null");
        Require(o.ImageSize is null || o.ImageSize >= 16, nameof(o.ImageSize), o.ImageSize, "at least 16 or null");
        Require(Enum.IsDefined(o.Arch), nameof(o.Arch), o.Arch, $"one of {string.Join(", ", Enum.GetNames<Architecture>())}");
        if (o.EarlyStoppingCriteria is { } es)
        {
            Require(es.Patience >= 1, "EarlyStoppingCriteria.Patience", es.Patience, "at least 1");
            if (o.ValidationSet is null && o.ValidationSetFraction is null)
                throw new ArgumentException("ImageClassificationTrainer.Options.EarlyStoppingCriteria needs validation data: set ValidationSet or ValidationSetFraction, or set EarlyStoppingCriteria to null.",
                    nameof(o.EarlyStoppingCriteria));
        }
    }
}
