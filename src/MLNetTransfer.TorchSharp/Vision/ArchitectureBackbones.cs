using MLNetTransfer.Backbones;

namespace MLNetTransfer.Vision;

/// <summary>
/// Which catalog backbone runs each of Microsoft.ML.Vision's architectures: a data table by catalog name, so an entry
/// added to the catalog (e.g. ResNet-18) is picked up without code here. An architecture whose backbone is not in the
/// catalog fails with a message naming the members that work.
/// </summary>
internal static class ArchitectureBackbones
{
    private static readonly (ImageClassificationTrainer.Architecture Arch, string? CatalogName, string Description)[] Table =
    [
        (ImageClassificationTrainer.Architecture.ResnetV2101, "resnet18", "ResNet-18 (ML.NET's DnnImageFeaturizer.ResNet18 ONNX file) in place of TensorFlow's ResNet-v2-101"),
        (ImageClassificationTrainer.Architecture.InceptionV3, null, "nothing: no Inception-v3 weights are available here"),
        (ImageClassificationTrainer.Architecture.MobilenetV2, "mobilenetv2-dequantized", "MobileNetV2 1.0 (ONNX Model Zoo, int8 weights run in fp32)"),
        (ImageClassificationTrainer.Architecture.ResnetV250, "resnet18", "ResNet-18 (ML.NET's DnnImageFeaturizer.ResNet18 ONNX file) in place of TensorFlow's ResNet-v2-50"),
    ];

    /// <summary>The backbone of <paramref name="arch"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No weights for it here; the message names the members that work.</exception>
    public static (BackboneInfo Backbone, string Description) Resolve(ImageClassificationTrainer.Architecture arch)
    {
        var row = Table.Single(r => r.Arch == arch);
        if (Find(row.CatalogName) is { } backbone) return (backbone, row.Description);
        var working = Table.Where(r => Find(r.CatalogName) is not null).Select(r => $"{r.Arch} ({r.CatalogName})");
        throw new ArgumentOutOfRangeException("Arch", arch,
            $"ImageClassificationTrainer.Options.Arch = {arch}: {(row.CatalogName is null ? "no weights for it are available here" : $"its backbone '{row.CatalogName}' is not in this build's catalog")}. " +
            $"Architectures that work: {string.Join(", ", working)}.");
    }

    private static BackboneInfo? Find(string? name) =>
        name is null ? null : BackboneCatalog.All.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase));
}
