using MLNetTransfer.Backbones;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Options of <see cref="FeaturizeImageEstimator"/>; every default is documented on its property. A record: derive a variant
/// with <c>options with { BatchSize = 64 }</c>; the estimator checks every option once, when it is constructed.
/// </summary>
public sealed record FeaturizeImageOptions
{
    /// <summary>Output column: a known-size float vector (the backbone's embedding). Default <c>Features</c>.</summary>
    public string OutputColumnName { get; init; } = "Features";

    /// <summary>Input column: image file paths (text). Default <c>ImagePath</c>.</summary>
    public string InputColumnName { get; init; } = "ImagePath";

    /// <summary>Folder that relative paths are resolved against; null means as given. Default null.</summary>
    public string? ImageFolder { get; init; }

    /// <summary>
    /// The backbone. Default <see cref="BackboneCatalog.ResNet18Int8"/>: ML.NET's own ResNet-18, restored with the library
    /// from its NuGet package (no assets folder, no download), run in int8 (docs/benchmarks.md: why this default).
    /// </summary>
    public BackboneInfo Backbone { get; init; } = BackboneCatalog.ResNet18Int8;

    /// <summary>Where backbone files are looked up. Default: <c>$MLNETTRANSFER_ASSETS</c>, then the user cache.</summary>
    public AssetResolver Assets { get; init; } = AssetResolver.Default;

    /// <summary>
    /// Size (square) the network sees; images are resized to it inside the ONNX graph (bilinear, half-pixel).
    /// Default null: the backbone's <see cref="BackboneInfo.InputSize"/> (224 for the default ResNet-18).
    /// </summary>
    public int? NetworkSize { get; init; }

    /// <summary>
    /// Size (width, height) images are decoded and resized to by ML.NET before the graph. Default null: chosen at
    /// <c>Fit</c> — when the first images all share one size no larger than <see cref="NetworkSize"/> (CIFAR's
    /// 32×32), that size, so the upscale happens once, in the graph; otherwise <see cref="NetworkSize"/>.
    /// </summary>
    public (int Width, int Height)? DecodeSize { get; init; }

    /// <summary>
    /// Average each image's embedding with its left-right mirror's (test-time augmentation, done inside the ONNX graph,
    /// so saved models keep it). Costs twice the backbone work; worth it for small datasets of natural images, wrong for
    /// images where left and right differ in meaning (text, digits). Default false.
    /// </summary>
    public bool FlipAverage { get; init; }

    /// <summary>
    /// Images scored at a time, split evenly over the <see cref="Sessions"/> (with two, each ONNX Runtime call gets half).
    /// Default 32 (32–64 measured best on 2 cores with one session).
    /// </summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>ONNX Runtime threads in all, shared by the <see cref="Sessions"/>. Default: the number of cores.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// ONNX Runtime sessions that score batches side by side, each with its share of <see cref="Threads"/>; each holds
    /// its own working memory. Default null: the backbone's <see cref="BackboneInfo.FeaturizeSessions"/> (2 for the
    /// ResNet-18 family, 1 otherwise), at most <see cref="Threads"/>.
    /// </summary>
    public int? Sessions { get; init; }

    /// <summary>The number of sessions <see cref="Sessions"/> stands for.</summary>
    internal int SessionCount => Sessions ?? Math.Clamp(Backbone.FeaturizeSessions, 1, Threads);

    /// <summary>
    /// Folder for the embedding cache (keyed by image content hash, backbone and sizes), so a second run only reads.
    /// Default null: no cache.
    /// </summary>
    public string? CacheFolder { get; init; }

    /// <summary>Called after each batch with the number of images done so far (progress bars). Default null.</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>Checks every option once; the message names the option and the allowed range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">A column name is empty, or the backbone or the resolver is missing.</exception>
    internal FeaturizeImageOptions Validate()
    {
        static void Require(bool ok, string option, object? value, string range)
        {
            if (!ok) throw new ArgumentOutOfRangeException(option, value, $"FeaturizeImageOptions.{option} must be {range}; got {value ?? "null"}.");
        }
        foreach (var (name, value) in new[] { (nameof(InputColumnName), InputColumnName), (nameof(OutputColumnName), OutputColumnName) })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"FeaturizeImageOptions.{name} must name a column.", name);
        if (Backbone is null) throw new ArgumentException("FeaturizeImageOptions.Backbone must be set.", nameof(Backbone));
        if (Assets is null) throw new ArgumentException("FeaturizeImageOptions.Assets must be set (e.g. AssetResolver.Default).", nameof(Assets));
        Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "at least 1");
        Require(Threads >= 1, nameof(Threads), Threads, "at least 1");
        if (Sessions is int sessions) Require(sessions >= 1 && sessions <= Threads, nameof(Sessions), sessions, $"between 1 and Threads ({Threads})");
        Require(NetworkSize is null or >= 16, nameof(NetworkSize), NetworkSize, "at least 16 pixels or null");
        Require(DecodeSize is null || DecodeSize.Value is { Width: >= 1, Height: >= 1 }, nameof(DecodeSize), DecodeSize, "positive or null");
        return this;
    }
}
