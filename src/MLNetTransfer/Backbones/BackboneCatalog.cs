using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransfer.Onnx;

namespace MLNetTransfer.Backbones;

/// <summary>
/// The built-in backbones. Entries are data; add one by creating a <see cref="BackboneInfo"/>
/// (or <see cref="FromOnnxFile"/> for any ONNX image classifier).
/// </summary>
public static class BackboneCatalog
{
    /// <summary>
    /// MobileNetV2 1.0 (ImageNet-1k), ONNX Model Zoo, statically quantized to int8 (QOperator), opset 12.
    /// Embedding: the 1280-wide pooled tensor <c>464_quantized</c>, dequantized with <c>464_scale</c>/<c>464_zero_point</c>.
    /// </summary>
    public static BackboneInfo MobileNetV2Int8 { get; } = new(
        Name: "mobilenetv2-int8",
        Asset: new AssetInfo(
            "models/mobilenetv2-12-int8.onnx",
            "https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx",
            3_655_033,
            "cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f"),
        InputName: "input",
        InputSize: 224,
        Mean: BackboneInfo.ImageNetMean,
        Std: BackboneInfo.ImageNetStd,
        LogitsName: "output",
        Embedding: new EmbeddingNode("464_quantized", 1280, "464_scale", "464_zero_point"))
    {
        Description = "MobileNetV2 1.0, ImageNet-1k, int8 (ONNX Model Zoo), 3.5 MB, 1280-d embedding",
    };

    /// <summary>
    /// The same MobileNetV2-int8 file run as its fp32 twin (<see cref="BackboneInfo.RunAsFloat"/>): int8 weights
    /// dequantized, no activation rounding. Same download, better frozen features (docs/benchmarks.md).
    /// </summary>
    public static BackboneInfo MobileNetV2Dequantized { get; } = MobileNetV2Int8 with
    {
        Name = "mobilenetv2-dequantized",
        Embedding = new EmbeddingNode("464_quantized", 1280),
        RunAsFloat = true,
        Description = "MobileNetV2-int8's weights run in fp32 (no activation rounding), 1280-d embedding; better features, same file",
    };

    /// <summary>
    /// The dequantized MobileNetV2 with multi-block features: global averages of blocks 13 (96 channels, 14×14 at 224 px),
    /// 16 (160) and 17 (320) in front of the 1280-wide pooled embedding, 1856 floats. The most accurate frozen features
    /// here (docs/benchmarks.md); featurization only (fine-tuning uses <see cref="MobileNetV2Dequantized"/>'s cut).
    /// </summary>
    public static BackboneInfo MobileNetV2MultiBlock { get; } = MobileNetV2Dequantized with
    {
        Name = "mobilenetv2-multiblock",
        Embedding = new EmbeddingNode("464_quantized", 96 + 160 + 320 + 1280) { PooledBlocks = ["426_quantized", "452_quantized", "624_quantized"] },
        Description = "MobileNetV2 dequantized, pooled blocks 13+16+17 + last layer, 1856-d; the most accurate frozen features, featurization only",
    };

    /// <summary>The NuGet package ML.NET's own ResNet-18 featurizer ships in; the library depends on it.</summary>
    public const string ResNet18Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The version of <see cref="ResNet18Package"/> whose files' sizes and sha256 are recorded here.</summary>
    public const string ResNet18PackageVersion = "0.24.0";

    /// <summary>
    /// ResNet-18 (ImageNet-1k, fp32, CNTK 2.6 export at opset 8) from ML.NET's own NuGet package
    /// (<see cref="ResNet18Package"/>): restored with this library, so it needs no assets folder and no download.
    /// The embedding is the 512-wide global average <c>Pooling395_Output_0</c>. Input as ML.NET's
    /// <c>ResNetPreprocess.onnx</c> prepares it: BGR planes on the 0–255 scale minus a per-pixel 3×224×224 mean image
    /// (read from that file). Block boundaries: the stem (after max pooling), then the nine residual units.
    /// </summary>
    public static BackboneInfo ResNet18 { get; } = new(
        Name: "resnet18",
        Asset: PackageFile("ResNet18Onnx/ResNet18.onnx", 63_653_533, "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f"),
        InputName: "Input247",
        InputSize: 224,
        Mean: [0f, 0f, 0f],
        Std: [1f, 1f, 1f],
        LogitsName: null,
        Embedding: new EmbeddingNode("Pooling395_Output_0", 512))
    {
        ChannelOrder = ChannelOrder.Bgr,
        PixelScale = 255f,
        SizeMultiple = 32,
        FeaturizeSessions = 2, // measured faster on 2 cores (BackboneInfo.FeaturizeSessions); its variants inherit it
        ProbeL2 = 1f, // chosen on a held-out tenth of 2,000 CIFAR-10 training images: 1e-2 0.680, 0.1 0.690, 1 0.725, 4 0.710
        MeanImage = new MeanImageSource(
            PackageFile("ResNetPrepOnnx/ResNetPreprocess.onnx", 602_584, "84bf8def78d0befaa3f6e73745d57d7016c6a192ead76f79686bd438c1047004"),
            "MeanImage", 224),
        BlockOutputs = ["Pooling255_Output_0", "ReLU269_Output_0", "ReLU283_Output_0", "ReLU301_Output_0", "ReLU315_Output_0",
            "ReLU333_Output_0", "ReLU347_Output_0", "ReLU365_Output_0", "ReLU379_Output_0", "ReLU393_Output_0"],
        Description = $"ResNet-18, ImageNet-1k, fp32, from NuGet {ResNet18Package} {ResNet18PackageVersion} (no assets needed), 63.6 MB, 512-d embedding",
    };

    /// <summary>
    /// <see cref="ResNet18"/> with multi-block features: global averages of the last 128-channel unit (<c>ReLU315</c>,
    /// 28×28 at 224 px), the last 256-channel unit (<c>ReLU347</c>, 14×14) and the first 512-channel unit (<c>ReLU379</c>,
    /// 7×7) in front of the 512-wide embedding, 1408 floats. Measured better than the single cut and than fewer units on
    /// CIFAR-10 (docs/benchmarks.md); featurization only.
    /// </summary>
    public static BackboneInfo ResNet18MultiBlock { get; } = ResNet18 with
    {
        Name = "resnet18-multiblock",
        Embedding = new EmbeddingNode("Pooling395_Output_0", 128 + 256 + 512 + 512) { PooledBlocks = ["ReLU315_Output_0", "ReLU347_Output_0", "ReLU379_Output_0"] },
        ProbeL2 = 4f, // chosen on a held-out tenth of 2,000 CIFAR-10 training images (int8, flip-averaged): 0.1 0.725, 1 0.740, 4 0.745, 16 0.725
        Description = "ResNet-18 (ML.NET's package), pooled units 128-ch + 256-ch + first 512-ch + last layer, 1408-d; featurization only",
    };

    /// <summary>
    /// <see cref="ResNet18"/> run in int8 for featurization (<see cref="BackboneInfo.Int8Ranges"/>): BatchNormalization folded,
    /// weights int8 per output channel, activations uint8 over ranges calibrated on CIFAR-10 training images. Same file and
    /// preprocessing; about 2–3× the float network's speed on CPUs with int8 dot-product instructions, embeddings within
    /// a cosine of ≈0.997 of the float ones (docs/benchmarks.md). Fine-tuning trains the float weights.
    /// </summary>
    public static BackboneInfo ResNet18Int8 { get; } = ResNet18 with
    {
        Name = "resnet18-int8",
        Int8Ranges = ResNet18Int8Ranges.Values,
        Description = "ResNet-18 (ML.NET's package) run in int8 (calibrated on CIFAR-10 train), 512-d embedding; ~2-3x faster featurization",
    };

    /// <summary><see cref="ResNet18MultiBlock"/>'s features from the int8 network of <see cref="ResNet18Int8"/>; featurization only.</summary>
    public static BackboneInfo ResNet18MultiBlockInt8 { get; } = ResNet18MultiBlock with
    {
        Name = "resnet18-multiblock-int8",
        Int8Ranges = ResNet18Int8Ranges.Values,
        Description = "ResNet-18 multi-block features (1408-d) from the int8 network; featurization only",
    };

    private static AssetInfo PackageFile(string pathUnderModels, long size, string sha256) =>
        new($"DnnImageModels/{pathUnderModels}", null, size, sha256)
        {
            Package = new NuGetContent(ResNet18Package, ResNet18PackageVersion, $"tools/DnnImageModels/{pathUnderModels}", $"DnnImageModels/{pathUnderModels}"),
        };

    /// <summary>
    /// ResNet-50 v1 (ONNX Model Zoo, fp32, opset 12). Not shipped with this project's assets and its sha256 is not
    /// recorded, so it is never downloaded automatically: place <c>models/resnet50-v1-12.onnx</c> in an assets folder.
    /// The tensor names follow the Model Zoo v1 export and were not verified on this machine (no file here):
    /// run <c>mlnet-transfer inspect</c> on your file and pass <c>--feature-node</c> if they differ.
    /// </summary>
    public static BackboneInfo ResNet50 { get; } = new(
        Name: "resnet50",
        Asset: new AssetInfo(
            "models/resnet50-v1-12.onnx",
            "https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model/resnet50-v1-12.onnx",
            null,
            null),
        InputName: "data",
        InputSize: 224,
        Mean: BackboneInfo.ImageNetMean,
        Std: BackboneInfo.ImageNetStd,
        LogitsName: "resnetv17_dense0_fwd",
        Embedding: new EmbeddingNode("resnetv17_pool1_fwd", 2048))
    {
        Description = "ResNet-50 v1, ImageNet-1k, fp32 (ONNX Model Zoo), 98 MB, 2048-d embedding; bring your own file",
    };

    /// <summary>All built-in entries.</summary>
    public static IReadOnlyList<BackboneInfo> All { get; } = [MobileNetV2Int8, MobileNetV2Dequantized, MobileNetV2MultiBlock, ResNet18, ResNet18MultiBlock, ResNet18Int8, ResNet18MultiBlockInt8, ResNet50];

    /// <summary>Finds a built-in entry by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No entry has that name; the message lists the known names.</exception>
    public static BackboneInfo Get(string name) =>
        All.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(
            $"Unknown backbone '{name}'. Known: {string.Join(", ", All.Select(b => b.Name))}, or a path to an .onnx file.", nameof(name));

    /// <summary>A catalog name, or a path to an .onnx file (then <paramref name="embeddingNode"/> is required).</summary>
    public static BackboneInfo Resolve(string nameOrPath, string? embeddingNode = null, int? embeddingDimension = null)
    {
        if (nameOrPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || File.Exists(nameOrPath))
            return FromOnnxFile(nameOrPath, embeddingNode
                ?? throw new ArgumentException($"Backbone '{nameOrPath}' is a file: name its embedding tensor (--feature-node)."),
                embeddingDimension);
        var entry = Get(nameOrPath);
        return embeddingNode is null ? entry : entry with { Embedding = new EmbeddingNode(embeddingNode, embeddingDimension ?? 0) };
    }

    /// <summary>
    /// Any ONNX image classifier taking float [N,3,H,W]. The file is read and checked here, so a wrong file fails at once
    /// with its name: the image input must be float [N,3,H,W], the embedding tensor must exist, and its width (when
    /// <paramref name="embeddingDimension"/> is null) is measured by running the truncated graph once in ONNX Runtime.
    /// The file's sha256 goes into the cache key, so editing the file never reuses stale cached features.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxFormatException">Not a usable ONNX image model (the message names the file and why).</exception>
    /// <exception cref="ArgumentException">No tensor named <paramref name="embeddingNode"/>.</exception>
    public static BackboneInfo FromOnnxFile(string path, string embeddingNode, int? embeddingDimension = null,
        string inputName = "", int? inputSize = null, float[]? mean = null, float[]? std = null)
    {
        var model = OnnxModel.Load(path);
        var input = OnnxGraphEdits.ImageInput(model, string.IsNullOrEmpty(inputName) ? null : inputName);
        int size = inputSize ?? (int?)input.Type!.TensorType!.Shape!.Dim[2].Size ?? 224;
        int width = embeddingDimension ?? MeasureEmbeddingWidth(model, input.Name!, embeddingNode, size);
        string sha;
        using (var file = File.OpenRead(path)) sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
        // A catalog file given by path (e.g. the package's ResNet18.onnx) keeps its catalog preprocessing (BGR, mean image).
        if (All.FirstOrDefault(b => b.Asset.Sha256 == sha && b.Embedding.TensorName == embeddingNode && mean is null && std is null) is { } known)
            return known;
        return new(Name: Path.GetFileNameWithoutExtension(path),
            Asset: new AssetInfo(Path.GetFullPath(path), null, new FileInfo(path).Length, sha),
            InputName: input.Name!,
            InputSize: size,
            Mean: mean ?? BackboneInfo.ImageNetMean,
            Std: std ?? BackboneInfo.ImageNetStd,
            LogitsName: null,
            Embedding: new EmbeddingNode(embeddingNode, width))
        {
            Description = $"user ONNX file {path}",
        };
    }

    private static int MeasureEmbeddingWidth(OnnxModel model, string inputName, string tensor, int size)
    {
        var probe = OnnxModel.Parse(model.ToByteArray(), model.Source);
        OnnxGraphEdits.ExposeFlattened(probe, tensor, "mlnt_embedding_probe", [null, null]);
        OnnxGraphEdits.Prune(probe, "mlnt_embedding_probe");
        try
        {
            using var session = new InferenceSession(probe.ToByteArray());
            using var runOptions = new RunOptions();
            using var zeros = OrtValue.CreateTensorValueFromMemory(new float[3 * size * size], [1, 3, size, size]);
            using var results = session.Run(runOptions, [inputName], [zeros], ["mlnt_embedding_probe"]);
            var width = (int)results[0].GetTensorTypeAndShape().ElementCount;
            return width > 0 ? width : throw new OnnxFormatException($"{model.Source}: tensor '{tensor}' is empty for a {size}×{size} image.");
        }
        catch (OnnxRuntimeException ex)
        {
            throw new OnnxFormatException($"{model.Source}: ONNX Runtime cannot compute '{tensor}' for a {size}×{size} image: {ex.Message.Split('\n')[0]}", ex);
        }
    }
}
