using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Hosting;
using MLNetTransfer.Training;

namespace MLNetTransfer.Vision;

/// <summary>
/// A drop-in for Microsoft.ML.Vision's <c>ImageClassificationTrainer</c>: an app written for it compiles and runs with
/// <c>using Microsoft.ML.Vision;</c> replaced by <c>using MLNetTransfer.Vision;</c>. As ML.NET's, it trains a new softmax
/// layer on a frozen pretrained network's bottleneck values, computed once and cached, by gradient descent with ML.NET's
/// own learning-rate schedulers and early stopping, the batches in a fixed order; images that cannot be decoded are
/// skipped. TensorFlow is not used: the network runs on ONNX Runtime (see <see cref="Architecture"/>) and the layer is
/// trained in managed code. Input: the encoded image (<c>VBuffer&lt;byte&gt;</c> or <c>byte[]</c>) and a key label. Output:
/// ML.NET's multiclass columns, from ML.NET's own scorer (<see cref="ImageClassificationTransformer"/>). Create it with
/// <c>mlContext.MulticlassClassification.Trainers.ImageClassification</c>.
/// </summary>
public sealed partial class ImageClassificationTrainer : IEstimator<ImageClassificationTransformer>
{
    private const string Channel = nameof(ImageClassificationTrainer);
    // The bottleneck column between the featurizer and the scorer; dropped from the output.
    private const string BottleneckColumn = "__mlnt_bottleneck";
    // Whether the layer trains on standardized bottleneck values (docs/benchmarks.md, "The Vision drop-in").
    private const bool StandardizeByDefault = false;
    private readonly MLNetEnvironment env;
    // ML.NET's trainer logs on a channel of its own host, so its messages read "[Source=ImageClassificationTrainer;
    // ImageClassificationTrainer, Kind=…] …", which apps written for it filter on; this one does the same.
    // One channel for the trainer's life, as ML.NET keeps one: a channel per message would add its start, finish and
    // dispose lines to the log for every metrics line.
    private readonly Microsoft.ML.Runtime.IChannel channel;
    private readonly Options options;
    private readonly Backbones.BackboneInfo backbone;

    internal ImageClassificationTrainer(MLNetEnvironment env, Options options)
    {
        this.env = env;
        channel = env.Host.Register(Channel).Start(Channel);
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        Validate(options);
        var mapping = ArchitectureBackbones.Resolve(options.Arch);
        backbone = options.BackboneOverride ?? mapping.Backbone;
        Log($"Architecture {options.Arch} runs {mapping.Description} (catalog entry '{backbone.Name}').");
    }

    /// <summary>Trains the softmax layer (validating on <see cref="Options.ValidationSet"/>, or on a held-out fraction) and returns the scoring chain.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type; the message names it and the expected type.</exception>
    /// <exception cref="InvalidOperationException">Fewer than two classes kept usable images.</exception>
    public ImageClassificationTransformer Fit(IDataView input) => Fit(input, options.ValidationSet);

    /// <summary>Trains with <paramref name="validationData"/> as the validation set (as ML.NET's overload of the same shape).</summary>
    public ImageClassificationTransformer Fit(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        GetOutputSchema(SchemaShapes.FromSchema(trainData.Schema));
        if (validationData is not null) GetOutputSchema(SchemaShapes.FromSchema(validationData.Schema));
        int classes = ClassCount(trainData.Schema[options.LabelColumnName]);
        int seed = env.Seed ?? Random.Shared.Next();
        var ml = env.NewContext(seed);
        var featurizer = new FeaturizeImageEstimator(ml, new FeaturizeImageOptions
        {
            InputColumnName = options.FeatureColumnName,
            OutputColumnName = BottleneckColumn,
            Backbone = backbone,
            Assets = options.Assets,
            NetworkSize = options.ImageSize,
        }).Fit(trainData);
        string workspace = options.WorkspacePath ?? Path.Combine(env.TempFilePath ?? Path.GetTempPath(), $"mlnettransfer-vision-{Guid.NewGuid():N}");
        Directory.CreateDirectory(workspace);
        try
        {
            using var watch = env.WatchCancellation();
            var skipped = new List<string>();
            var (train, validation) = ReadBottlenecks(featurizer, trainData, validationData, workspace, seed, skipped, watch.Token);
            RequireTwoClasses(train, skipped.Count);
            var scaling = options.StandardizeOverride ?? StandardizeByDefault ? BottleneckScaling.Measure(train) : null;
            var (weights, bias, history) = scaling is null
                ? TrainLayer(train, validation, classes, seed, watch.Token)
                : TrainLayer(scaling.Apply(train), validation is null ? null : scaling.Apply(validation), classes, seed, watch.Token);
            if (scaling is not null) (weights, bias) = scaling.Fold(weights, bias);
            var chain = BuildChain(ml, featurizer, trainData, weights, bias);
            return new ImageClassificationTransformer(chain, featurizer, history, skipped, backbone.Name);
        }
        catch
        {
            featurizer.Dispose();
            throw;
        }
        finally
        {
            if (options.WorkspacePath is null) TryDelete(workspace);
        }
    }

    /// <summary>Input: the encoded image (vector of bytes) and the label (key). Output: adds Score (known-size float vector with slot names) and PredictedLabel (key).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        if (SchemaShapes.Find(inputSchema, options.FeatureColumnName) is not { } image)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Feature column '{options.FeatureColumnName}' not found in the input schema (columns: {string.Join(", ", inputSchema.Select(c => c.Name))}).");
        if (image.Kind == SchemaShape.Column.VectorKind.Scalar || image.ItemType != NumberDataViewType.Byte)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for feature column '{options.FeatureColumnName}': expected Vector<Byte> (the encoded image, e.g. from ml.Transforms.LoadRawImageBytes), got {image.ItemType}{(image.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        if (SchemaShapes.Find(inputSchema, options.LabelColumnName) is not { } label)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{options.LabelColumnName}' not found in the input schema (columns: {string.Join(", ", inputSchema.Select(c => c.Name))}).");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for label column '{options.LabelColumnName}': expected a key (e.g. from ml.Transforms.Conversion.MapValueToKey), got {label.ItemType}.");
        return SchemaShapes.WithMulticlassOutputs(inputSchema, label, options.ScoreColumnName, options.PredictedLabelColumnName);
    }

    private int ClassCount(DataViewSchema.Column label)
    {
        ulong count = label.Type is KeyDataViewType key ? key.Count : 0;
        if (count < 2 || count > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(label), $"Label column '{label.Name}' is a key with {count} values; at least 2 classes are needed.");
        return (int)count;
    }

    /// <summary>
    /// Train and validation bottleneck values, computed (or reused from the workspace when asked and still valid), shuffled
    /// once as ML.NET does; without a validation set, the first <see cref="Options.ValidationSetFraction"/> of the shuffled
    /// training values validate (none when that is less than one image).
    /// </summary>
    private (Bottlenecks Train, Bottlenecks? Validation) ReadBottlenecks(FeaturizeImageTransformer featurizer, IDataView trainData,
        IDataView? validationData, string workspace, int seed, List<string> skipped, CancellationToken cancel)
    {
        var random = new Random(seed);
        var train = Shuffle(Featurize(featurizer, trainData, ImageClassificationMetrics.Dataset.Train,
            Path.Combine(workspace, options.TrainSetBottleneckCachedValuesFileName), options.ReuseTrainSetBottleneckCachedValues, skipped, cancel), random);
        string validationFile = Path.Combine(workspace, options.ValidationSetBottleneckCachedValuesFileName);
        // ML.NET validates when early stopping or a metrics callback needs it, and it always has a callback (its log):
        // so whenever validation data is given or can be held out.
        if (validationData is not null)
            return (train, Featurize(featurizer, validationData, ImageClassificationMetrics.Dataset.Validation, validationFile,
                options.ReuseValidationSetBottleneckCachedValues, skipped, cancel));
        if (options.ValidationSetFraction is not float fraction) return (train, null);
        int held = (int)(train.Count * fraction);
        if (held == 0) return (train, null);
        var validation = train.Select([.. Enumerable.Range(0, held)]);
        validation.Save(validationFile, $"held-out {held} of the training rows (seed {seed})");
        return (train.Select([.. Enumerable.Range(held, train.Count - held)]), validation);
    }

    private Bottlenecks Featurize(FeaturizeImageTransformer featurizer, IDataView data, ImageClassificationMetrics.Dataset dataset, string file, bool reuse,
        List<string> skipped, CancellationToken cancel)
    {
        var fingerprint = Bottlenecks.Fingerprint(featurizer, data, options.FeatureColumnName, options.LabelColumnName);
        if (reuse && Bottlenecks.TryLoad(file, fingerprint) is { } cached)
        {
            Log($"{dataset} set: reusing {cached.Count} bottleneck values from {file}.");
            return cached;
        }
        var clock = Stopwatch.StartNew();
        var metrics = new ImageClassificationMetrics { Bottleneck = new BottleneckMetrics { DatasetUsed = dataset } };
        var values = Bottlenecks.Compute(featurizer, data, options.LabelColumnName,
            done =>
            {
                metrics.Bottleneck.Index = done;
                Callback(metrics);
            },
            (row, reason) =>
            {
                var line = $"{dataset} set, row {row}: skipped, {reason}";
                skipped.Add(line);
                Log(line);
            }, cancel);
        values.Save(file, fingerprint);
        Log(FormattableString.Invariant($"{dataset} set: {values.Count} bottleneck values in {clock.Elapsed.TotalSeconds:F1} s, written to {file}."));
        return values;
    }

    private static Bottlenecks Shuffle(Bottlenecks data, Random random)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        random.Shuffle(order);
        return data.Select(order);
    }

    private void RequireTwoClasses(Bottlenecks train, int skipped)
    {
        int kept = train.Labels.Distinct().Count();
        if (kept < 2)
            throw new InvalidOperationException(
                $"ImageClassificationTrainer needs images of at least 2 classes to train; {kept} class(es) kept usable images " +
                $"({train.Count} images, {skipped} skipped as undecodable or unlabelled: see mlContext.Log).");
    }

    private (float[][] Weights, float[] Bias, List<EpochMetrics> History) TrainLayer(Bottlenecks train, Bottlenecks? validation, int classes, int seed,
        CancellationToken cancel)
    {
        var layer = new SoftmaxLayerTrainer(classes, train.Features[0].Length, new Random(seed));
        var schedule = options.LearningRateScheduler is { } scheduler ? new MlNetSchedule(scheduler, options.BatchSize, train.Count) : null;
        var stopping = validation is null ? null : options.EarlyStoppingCriteria?.Fresh();
        var callback = Callback;
        var history = new List<EpochMetrics>();
        (float Value, float[][] W, float[] B)? best = null;
        for (int epoch = 0; epoch < options.Epoch; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var (accuracy, loss, batches, rate) = layer.TrainEpoch(train, options.BatchSize, batch => schedule?.Rate(epoch, batch) ?? options.LearningRate);
            if (schedule is null) rate = options.LearningRate;
            if (!float.IsFinite(loss))
                throw new InvalidOperationException(FormattableString.Invariant(
                    $"ImageClassificationTrainer: training diverged in epoch {epoch} (training cross-entropy {loss}, rate {rate:G4}); lower the learning rate (Options.LearningRate or the scheduler's)."));
            if (options.TestOnTrainSet)
                callback(Epoch(ImageClassificationMetrics.Dataset.Train, epoch, batches, accuracy, loss, rate));
            float validationAccuracy = float.NaN, validationLoss = float.NaN;
            TrainMetrics? validationMetrics = null;
            if (validation is not null)
            {
                (validationAccuracy, validationLoss) = layer.Evaluate(validation, options.BatchSize);
                int validationBatches = (validation.Count + options.BatchSize - 1) / options.BatchSize;
                var report = Epoch(ImageClassificationMetrics.Dataset.Validation, epoch, validationBatches, validationAccuracy, validationLoss, options.LearningRate);
                validationMetrics = report.Train;
                callback(report);
            }
            history.Add(new EpochMetrics(epoch, "train", loss, accuracy, validationLoss, validationAccuracy, rate, clock.Elapsed.TotalSeconds,
                train.Count / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
            if (stopping is null || validationMetrics is null) continue;
            if (options.RestoreBestEpoch)
            {
                float value = stopping.CheckIncreasing ? validationMetrics.Accuracy : -validationMetrics.CrossEntropy;
                if (best is null || value > best.Value.Value) best = (value, layer.Weights, layer.Bias);
            }
            if (stopping.ShouldStop(validationMetrics))
            {
                Log($"Early stopping after epoch {epoch}: validation {stopping.Metric} did not improve by {stopping.MinDelta} for {stopping.Patience} epochs.");
                if (options.RestoreBestEpoch && best is { } b) layer.Load(b.W, b.B);
                break;
            }
        }
        return (layer.Weights, layer.Bias, history);
    }

    private void Log(string message, Microsoft.ML.Runtime.ChannelMessageKind kind = Microsoft.ML.Runtime.ChannelMessageKind.Info)
    {
        if (kind == Microsoft.ML.Runtime.ChannelMessageKind.Trace) channel.Trace(Microsoft.ML.Runtime.MessageSensitivity.None, message);
        else channel.Info(Microsoft.ML.Runtime.MessageSensitivity.None, message);
    }

    // Without a callback ML.NET writes each metrics line to its log at Trace level; with one, only the callback gets them.
    private Action<ImageClassificationMetrics> Callback =>
        options.MetricsCallback ?? (metrics => Log(metrics.ToString(), Microsoft.ML.Runtime.ChannelMessageKind.Trace));

    private static ImageClassificationMetrics Epoch(ImageClassificationMetrics.Dataset dataset, int epoch, int batches, float accuracy, float loss, float rate) => new()
    {
        Train = new TrainMetrics
        {
            DatasetUsed = dataset, Epoch = epoch, BatchProcessedCount = batches, Accuracy = accuracy, CrossEntropy = loss, LearningRate = rate,
        },
    };

    // Featurizer → ML.NET's scorer over the layer → drop the bottleneck column. Fitting these reads no rows. ML.NET's
    // scorer writes only the names Score and PredictedLabel; other names the options give are copies of those columns.
    private TransformerChain<ITransformer> BuildChain(MLContext ml, FeaturizeImageTransformer featurizer, IDataView trainData, float[][] weights, float[] bias)
    {
        var featurized = featurizer.Transform(trainData);
        var scorer = MulticlassLinearModel.Create(env.Host, weights, bias, featurized.Schema, BottleneckColumn, options.LabelColumnName,
            MulticlassLinearModel.ScoreColumn, MulticlassLinearModel.PredictedLabelColumn);
        var finished = MulticlassLinearModel.Finish(ml, scorer.Transform(featurized), options.ScoreColumnName, options.PredictedLabelColumnName, BottleneckColumn);
        return new TransformerChain<ITransformer>([featurizer, scorer, .. finished]);
    }

    private static void TryDelete(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (IOException) { } // a temp folder another process still reads: the OS cleans it
        catch (UnauthorizedAccessException) { }
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
        foreach (var (name, value) in new[] { (nameof(o.TrainSetBottleneckCachedValuesFileName), o.TrainSetBottleneckCachedValuesFileName),
                     (nameof(o.ValidationSetBottleneckCachedValuesFileName), o.ValidationSetBottleneckCachedValuesFileName) })
            if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || value is "." or "..")
                throw new ArgumentException($"ImageClassificationTrainer.Options.{name} must be a file name (no folder); got '{value}'.", name);
        Require(o.BatchSize >= 1, nameof(o.BatchSize), o.BatchSize, "at least 1");
        Require(o.Epoch >= 1, nameof(o.Epoch), o.Epoch, "at least 1");
        Require(o.LearningRate > 0 && float.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "a positive number");
        Require(o.ValidationSetFraction is null || (o.ValidationSetFraction > 0 && o.ValidationSetFraction < 1), nameof(o.ValidationSetFraction), o.ValidationSetFraction, "in (0, 1) or null");
        Require(o.ImageSize is null || o.ImageSize >= 16, nameof(o.ImageSize), o.ImageSize, "at least 16 or null");
        Require(Enum.IsDefined(o.Arch), nameof(o.Arch), o.Arch, $"one of {string.Join(", ", Enum.GetNames<Architecture>())}");
        if (o.Assets is null) throw new ArgumentException("ImageClassificationTrainer.Options.Assets must be set (e.g. AssetResolver.Default).", nameof(o.Assets));
        if (o.EarlyStoppingCriteria is { } es)
        {
            Require(es.Patience >= 1, "EarlyStoppingCriteria.Patience", es.Patience, "at least 1");
            if (o.ValidationSet is null && o.ValidationSetFraction is null)
                throw new ArgumentException("ImageClassificationTrainer.Options.EarlyStoppingCriteria needs validation data: set ValidationSet or ValidationSetFraction, or set EarlyStoppingCriteria to null.",
                    nameof(o.EarlyStoppingCriteria));
        }
    }
}
