using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Transforms;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Training;

/// <summary>Options of <see cref="LinearProbe"/>, every default documented on its property; a record, validated once per call.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>The frozen backbone. Default <see cref="BackboneCatalog.ResNet18Int8"/> (from a NuGet package: no download).</summary>
    public BackboneInfo Backbone { get; init; } = BackboneCatalog.ResNet18Int8;

    /// <summary>Where backbone files are found. Default: <c>$MLNETTRANSFER_ASSETS</c>, then the user cache.</summary>
    public AssetResolver Assets { get; init; } = AssetResolver.Default;

    /// <summary>
    /// The classical trainer. Default <see cref="ClassicalTrainers.Lbfgs"/>, which <see cref="LinearProbe.Train"/> swaps for
    /// its small-data variant below <see cref="ClassicalTrainers.SmallDataRows"/> images (<see cref="ClassicalTrainers.LbfgsFor(long, float)"/>).
    /// </summary>
    public ClassicalTrainerInfo Trainer { get; init; } = ClassicalTrainers.Lbfgs;

    /// <summary>Embedding cache folder (second runs only read); default null (off).</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Average each embedding with the mirrored image's (<see cref="FeaturizeImageOptions.FlipAverage"/>); default false.</summary>
    public bool FlipAverage { get; init; }

    /// <summary>Size the network sees; default null (the backbone's, 224 for ResNet-18).</summary>
    public int? ImageSize { get; init; }

    /// <summary>Called with (images featurized so far) during training; default null.</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>Checks every option once; the message names the option and the allowed range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">The backbone, the resolver or the trainer is missing.</exception>
    internal LinearProbeOptions Validate()
    {
        if (Backbone is null) throw new ArgumentException("LinearProbeOptions.Backbone must be set.", nameof(Backbone));
        if (Assets is null) throw new ArgumentException("LinearProbeOptions.Assets must be set (e.g. AssetResolver.Default).", nameof(Assets));
        if (Trainer is null) throw new ArgumentException("LinearProbeOptions.Trainer must be set (e.g. ClassicalTrainers.Lbfgs).", nameof(Trainer));
        if (ImageSize is < 16)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, $"LinearProbeOptions.ImageSize must be at least 16 pixels or null; got {ImageSize}.");
        return this;
    }
}

/// <summary>
/// The "intermediate output" strategy in one call: label → key, frozen backbone embedding, min-max normalization,
/// an ML.NET classical trainer, key → label. Built from public parts a user can recombine:
/// <see cref="BuildPipeline"/> returns the estimator chain.
/// </summary>
public static class LinearProbe
{
    /// <summary>The estimator chain (not fitted): ImagePath, Label (text) in; Score, PredictedLabel out.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message names it.</exception>
    public static IEstimator<ITransformer> BuildPipeline(MLContext ml, LinearProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return KeyLabel(ml).Append(AfterKeys(ml, options, options.Trainer));
    }

    private static ValueToKeyMappingEstimator KeyLabel(MLContext ml) =>
        ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue);

    private static IEstimator<ITransformer> AfterKeys(MLContext ml, LinearProbeOptions options, ClassicalTrainerInfo trainer) =>
        FeaturizeImageEstimator.For(ml.Transforms, new FeaturizeImageOptions
            {
                Backbone = options.Backbone,
                Assets = options.Assets,
                NetworkSize = options.ImageSize,
                CacheFolder = options.CacheFolder,
                FlipAverage = options.FlipAverage,
                Progress = options.Progress,
            })
            // LBFGS iterates many times over the data: featurize once, keep the rows in memory.
            .AppendCacheCheckpoint(ml)
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(trainer.Create(ml, "Features", "Label"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    /// <summary>Trains on labelled image files.</summary>
    /// <exception cref="ArgumentException">Fewer than two classes, or an option is missing or out of range (the message names it).</exception>
    public static ImageClassifierModel Train(MLContext ml, IReadOnlyList<LabeledImage> train, LinearProbeOptions? options = null)
    {
        options = (options ?? new()).Validate();
        var classes = train.Select(i => i.Label).Distinct().Count();
        if (classes < 2)
            throw new ArgumentException($"Training needs at least 2 classes; the data has {classes} ({train.Count} images).", nameof(train));
        var data = ml.Data.LoadFromEnumerable(train.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));
        var watch = Stopwatch.StartNew();
        var trainer = options.Trainer == ClassicalTrainers.Lbfgs ? ClassicalTrainers.LbfgsFor(train.Count, options.Backbone.ProbeL2) : options.Trainer;
        // The label is keyed outside the returned chain, so predicting needs only the image (ML.NET's trainers' convention).
        var keyed = KeyLabel(ml).Fit(data).Transform(data);
        var model = AfterKeys(ml, options, trainer).Fit(keyed);
        return new ImageClassifierModel(model, keyed.Schema) { TrainSeconds = watch.Elapsed.TotalSeconds };
    }
}
