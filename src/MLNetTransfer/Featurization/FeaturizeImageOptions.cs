using MLNetTransfer.Backbones;

namespace MLNetTransfer.Featurization;

/// <summary>Options of <see cref="FeaturizeImageEstimator"/>; every default is documented on its property.</summary>
public sealed class FeaturizeImageOptions
{
    /// <summary>Output column: a known-size float vector (the backbone's embedding). Default <c>Features</c>.</summary>
    public string OutputColumnName { get; set; } = "Features";

    /// <summary>Input column: image file paths (text). Default <c>ImagePath</c>.</summary>
    public string InputColumnName { get; set; } = "ImagePath";

    /// <summary>Folder that relative paths are resolved against; null means as given. Default null.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>The backbone. Default MobileNetV2-int8.</summary>
    public BackboneInfo Backbone { get; set; } = BackboneCatalog.MobileNetV2Int8;

    /// <summary>Where backbone files are looked up. Default: <c>$MLNETTRANSFER_ASSETS</c>, then the user cache.</summary>
    public AssetResolver Assets { get; set; } = AssetResolver.Default;

    /// <summary>
    /// Size (square) the network sees; images are resized to it inside the ONNX graph (bilinear, half-pixel).
    /// Default null: the backbone's <see cref="BackboneInfo.InputSize"/> (224 for MobileNetV2).
    /// </summary>
    public int? NetworkSize { get; set; }

    /// <summary>
    /// Size (width, height) images are decoded and resized to by ML.NET before the graph. Default null: chosen at
    /// <c>Fit</c> — when the first images all share one size no larger than <see cref="NetworkSize"/> (CIFAR's
    /// 32×32), that size, so the upscale happens once, in the graph; otherwise <see cref="NetworkSize"/>.
    /// </summary>
    public (int Width, int Height)? DecodeSize { get; set; }

    /// <summary>
    /// Average each image's embedding with its left-right mirror's (test-time augmentation, done inside the ONNX graph,
    /// so saved models keep it). Costs twice the backbone work; worth it for small datasets of natural images, wrong for
    /// images where left and right differ in meaning (text, digits). Default false.
    /// </summary>
    public bool FlipAverage { get; set; }

    /// <summary>Images per ONNX Runtime call. Default 32 (32–64 measured best on 2 cores).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>ONNX Runtime intra-op threads. Default: the number of cores.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Folder for the embedding cache (keyed by image content hash, backbone and sizes), so a second run only reads.
    /// Default null: no cache.
    /// </summary>
    public string? CacheFolder { get; set; }

    /// <summary>Called after each batch with the number of images done so far (progress bars). Default null.</summary>
    public Action<long>? Progress { get; set; }

    /// <summary>A shallow copy, so a caller can change columns without touching (or forgetting) the other settings.</summary>
    internal FeaturizeImageOptions Copy() => (FeaturizeImageOptions)MemberwiseClone();
}
