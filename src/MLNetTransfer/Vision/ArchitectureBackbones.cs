using MLNetTransfer.Backbones;

namespace MLNetTransfer.Vision;

/// <summary>
/// Which catalog backbone runs each of Microsoft.ML.Vision's architectures: a data table by catalog name. No TensorFlow
/// weights ship here, so each architecture maps to the closest network that does: ML.NET's own ResNet-18 (NuGet package,
/// no download) for the ResNets and Inception-v3, MobileNetV2 for MobileNetV2. The choice of precision and cut is
/// measured (docs/benchmarks.md, "The Vision drop-in's backbones").
/// </summary>
internal static class ArchitectureBackbones
{
    private static readonly (ImageClassificationTrainer.Architecture Arch, string CatalogName, string Description)[] Table =
    [
        (ImageClassificationTrainer.Architecture.ResnetV2101, "resnet18-int8", "ResNet-18 (ML.NET's DnnImageFeaturizer.ResNet18 ONNX file, int8) in place of TensorFlow's ResNet-v2-101"),
        (ImageClassificationTrainer.Architecture.InceptionV3, "resnet18-int8", "ResNet-18 (ML.NET's DnnImageFeaturizer.ResNet18 ONNX file, int8) in place of TensorFlow's Inception-v3, whose weights are not available here"),
        (ImageClassificationTrainer.Architecture.MobilenetV2, "mobilenetv2-int8", "MobileNetV2 1.0 (ONNX Model Zoo, int8)"),
        (ImageClassificationTrainer.Architecture.ResnetV250, "resnet18-int8", "ResNet-18 (ML.NET's DnnImageFeaturizer.ResNet18 ONNX file, int8) in place of TensorFlow's ResNet-v2-50"),
    ];

    /// <summary>The backbone of <paramref name="arch"/> and a sentence for the log.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a member of <see cref="ImageClassificationTrainer.Architecture"/>.</exception>
    public static (BackboneInfo Backbone, string Description) Resolve(ImageClassificationTrainer.Architecture arch)
    {
        foreach (var row in Table)
            if (row.Arch == arch) return (BackboneCatalog.Get(row.CatalogName), row.Description);
        throw new ArgumentOutOfRangeException("Arch", arch,
            $"ImageClassificationTrainer.Options.Arch = {arch} is not an architecture; use one of {string.Join(", ", Table.Select(r => r.Arch))}.");
    }
}
