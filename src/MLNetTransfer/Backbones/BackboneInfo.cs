namespace MLNetTransfer.Backbones;

/// <summary>
/// One pretrained image backbone, described as data (timm's registry idea): where its ONNX file comes from,
/// how its input is normalized, and which graph tensors hold the logits and the pooled embedding.
/// </summary>
/// <param name="Name">Catalog name used by the CLI (<c>--backbone</c>), e.g. <c>mobilenetv2-int8</c>.</param>
/// <param name="Asset">The ONNX file: relative path in an assets folder, url, size and sha256.</param>
/// <param name="InputName">Graph input that takes the image batch, float [N,3,H,W].</param>
/// <param name="InputSize">Height and width the network was trained at (square).</param>
/// <param name="Mean">Per-channel mean subtracted after scaling pixels to [0, <see cref="BackboneInfo.PixelScale"/>], in the
/// network's <see cref="BackboneInfo.ChannelOrder"/> (RGB unless stated).</param>
/// <param name="Std">Per-channel standard deviation divided after subtracting the mean (same order and scale).</param>
/// <param name="LogitsName">Graph output with the ImageNet logits, or null when unknown.</param>
/// <param name="Embedding">Where the pooled embedding lives in the graph.</param>
public sealed record BackboneInfo(
    string Name,
    AssetInfo Asset,
    string InputName,
    int InputSize,
    float[] Mean,
    float[] Std,
    string? LogitsName,
    EmbeddingNode Embedding)
{
    /// <summary>ImageNet normalization (torchvision): mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).</summary>
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];

    /// <inheritdoc cref="ImageNetMean"/>
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>Free-text description shown by the CLI.</summary>
    public string Description { get; init; } = "";

    /// <summary>
    /// For a quantized (int8) file: featurize with its fp32 twin instead (weights dequantized, activations no longer
    /// rounded to 256 levels; <c>OnnxDequantizer</c>), which gives better features at a similar speed. The embedding is
    /// then the float tensor of the same name, so <see cref="Embedding"/> carries no scale or zero point. Default false.
    /// </summary>
    public bool RunAsFloat { get; init; }

    /// <summary>
    /// When set, featurization runs the network in int8 (<see cref="Featurization.Int8Calibration"/>): BatchNormalization
    /// folded into the convolutions, weights int8 per output channel, and each activation between the int8 operators uint8
    /// over the range recorded here for its tensor (measured on calibration images). Faster on CPUs with int8 dot-product
    /// instructions, and the features differ slightly from the float network's. Fine-tuning ignores it and trains the
    /// float weights. Default null (float).
    /// </summary>
    public IReadOnlyDictionary<string, Onnx.ActivationRange>? Int8Ranges { get; init; }

    /// <summary>Channel order the network reads. Default <see cref="Onnx.ChannelOrder.Rgb"/>.</summary>
    public Onnx.ChannelOrder ChannelOrder { get; init; } = Onnx.ChannelOrder.Rgb;

    /// <summary>Value of a full-intensity pixel at the network input: 1 ([0,1]) or 255 ([0,255]). Default 1.</summary>
    public float PixelScale { get; init; } = 1f;

    /// <summary>A per-pixel mean image subtracted after <see cref="Mean"/> (Caffe/CNTK style). Default null.</summary>
    public MeanImageSource? MeanImage { get; init; }

    /// <summary>
    /// Tensors at which the network's blocks end (stem, then each residual unit), in order, for freezing and partial
    /// fine-tuning. Default empty: the blocks are found from the graph's structure.
    /// </summary>
    public IReadOnlyList<string> BlockOutputs { get; init; } = [];

    /// <summary>
    /// Network sizes are rounded up to a multiple of this (at least one multiple). CNTK's ResNet pads stride-2 layers on one
    /// side only, so its shortcut and main branches disagree on odd map sizes: the input must be a multiple of 32. Smaller
    /// images are upscaled to the rounded size, never refused. Default 1 (any size).
    /// </summary>
    public int SizeMultiple { get; init; } = 1;

    /// <summary>The size the network runs at for a requested <paramref name="size"/>: rounded up to <see cref="SizeMultiple"/>.</summary>
    public int NetworkSizeFor(int size) => Math.Max(SizeMultiple, (size + SizeMultiple - 1) / SizeMultiple * SizeMultiple);

    /// <summary>
    /// ONNX Runtime sessions the featurizer scores batches with side by side when <c>FeaturizeImageOptions.Sessions</c> is
    /// not set (capped at its thread count). Default 1. On 2 cores two one-thread sessions ran ResNet-18 int8 1.2–1.35×
    /// faster than one two-thread session, but MobileNetV2-int8 3–15% slower (docs/benchmarks.md), so it is the network's
    /// own figure.
    /// </summary>
    public int FeaturizeSessions { get; init; } = 1;

    /// <summary>
    /// L2 strength of the default L-BFGS linear probe on this backbone's features (chosen on a held-out part of the
    /// training data, docs/benchmarks.md). Default <see cref="DefaultProbeL2"/> (1e-2).
    /// </summary>
    public float ProbeL2 { get; init; } = DefaultProbeL2;

    /// <summary>The probe's L2 strength when a backbone record names none: 1e-2, measured best on MobileNetV2's embeddings.</summary>
    public const float DefaultProbeL2 = 1e-2f;

    /// <summary>The input normalization as one value (mean image loaded through <paramref name="assets"/>), checked once.</summary>
    /// <exception cref="AssetNotFoundException">The mean image's file cannot be found.</exception>
    public Onnx.ImageNormalization Normalization(AssetResolver assets)
    {
        var meanImage = MeanImage is { } source ? MeanImageFile.Load(source, assets) : null;
        return new Onnx.ImageNormalization(Mean, Std)
        {
            ChannelOrder = ChannelOrder, PixelScale = PixelScale, MeanImage = meanImage, MeanImageSize = MeanImage?.Size ?? 0,
        }.Validate();
    }

    /// <summary>A stable key for caches: name plus file hash, so a changed file never reuses stale features.</summary>
    public string CacheKey => $"{Name}-{(Asset.Sha256 ?? "nosha")[..Math.Min(12, (Asset.Sha256 ?? "nosha").Length)]}-{Embedding.TensorName}{string.Concat(Embedding.PooledBlocks.Select(b => "+" + b))}{(RunAsFloat ? "-fp32" : "")}{(Int8Ranges is null ? "" : "-int8-" + Int8RangesHash())}";

    // The ranges decide the features, so they are part of the cache key: a recalibrated backbone never reuses old features.
    private string Int8RangesHash()
    {
        var text = string.Join(";", Int8Ranges!.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => FormattableString.Invariant($"{r.Key}={r.Value.Min:R},{r.Value.Max:R}")));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..8];
    }
}

/// <summary>The graph tensor holding a backbone's pooled embedding.</summary>
/// <param name="TensorName">Tensor name in the graph (need not be a graph output).</param>
/// <param name="Dimension">Embedding width, e.g. 1280 for MobileNetV2.</param>
/// <param name="QuantScaleName">For quantized graphs: the scale tensor that dequantizes it; null for float tensors.</param>
/// <param name="QuantZeroPointName">For quantized graphs: the zero-point tensor; null for float tensors.</param>
public sealed record EmbeddingNode(string TensorName, int Dimension, string? QuantScaleName = null, string? QuantZeroPointName = null)
{
    /// <summary>
    /// Feature maps [N,C,h,w] of earlier blocks whose global averages are concatenated in front of the embedding
    /// (multi-block features: mid-level patterns a new task may need more than ImageNet's last layer). Float tensors
    /// only (a quantized backbone needs <see cref="BackboneInfo.RunAsFloat"/>). <see cref="Dimension"/> is the total width.
    /// Featurization only: fine-tuning cuts the network at <see cref="TensorName"/>. Default empty.
    /// </summary>
    public IReadOnlyList<string> PooledBlocks { get; init; } = [];

    /// <summary>True when the tensor is quantized and must be dequantized to float.</summary>
    public bool IsQuantized => QuantScaleName is not null;
}

/// <summary>An external file the library needs: found in an assets folder or downloaded and verified.</summary>
/// <param name="RelativePath">Path inside an assets folder, e.g. <c>models/mobilenetv2-12-int8.onnx</c>.</param>
/// <param name="Url">Where to download it from when online; null when it cannot be downloaded.</param>
/// <param name="Size">Expected size in bytes, or null when unknown.</param>
/// <param name="Sha256">Expected lowercase hex sha256, or null when unknown.</param>
public sealed record AssetInfo(string RelativePath, string? Url, long? Size, string? Sha256)
{
    /// <summary>
    /// Expected lowercase hex md5, checked when <see cref="Sha256"/> is null: the only checksum some dataset authors publish.
    /// Default null. A file with neither checksum is never downloaded.
    /// </summary>
    public string? Md5 { get; init; }

    /// <summary>The asset's name in <c>data/manifest.json</c> (e.g. <c>cifar10-binary</c>), for messages; default null.</summary>
    public string? Name { get; init; }

    /// <summary>True when a download can be verified (a sha256 or an md5 is known).</summary>
    public bool HasChecksum => Sha256 is not null || Md5 is not null;

    /// <summary>The name for messages: <see cref="Name"/> with the path, or the path alone.</summary>
    public string DisplayName => Name is null ? RelativePath : $"{Name} ({RelativePath})";

    /// <summary>
    /// When set, the file is content of this NuGet package (restored with the library) and is looked up in the output
    /// folder and the NuGet package folder instead of an assets folder; never downloaded. Default null.
    /// </summary>
    public NuGetContent? Package { get; init; }
}

/// <summary>A file shipped inside a NuGet package.</summary>
/// <param name="PackageId">Package id, e.g. <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>.</param>
/// <param name="Version">Package version the size and sha256 belong to.</param>
/// <param name="PathInPackage">Path inside the package, e.g. <c>tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx</c>.</param>
/// <param name="OutputPath">Where the package's build props copy it, relative to the application folder.</param>
public sealed record NuGetContent(string PackageId, string Version, string PathInPackage, string OutputPath);

/// <summary>A per-pixel mean image stored as a float initializer [1,3,S,S] in an ONNX file (e.g. a preprocessing graph).</summary>
/// <param name="Asset">The ONNX file holding it.</param>
/// <param name="TensorName">The initializer's name.</param>
/// <param name="Size">Its side S.</param>
public sealed record MeanImageSource(AssetInfo Asset, string TensorName, int Size);
