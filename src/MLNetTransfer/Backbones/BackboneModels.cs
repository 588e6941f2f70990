using MLNetTransfer.Onnx;

namespace MLNetTransfer.Backbones;

/// <summary>
/// Opens a backbone's ONNX file the way every path needs it (featurizer graph, TorchSharp import, Grad-CAM): resolved and
/// verified, whole-map average pooling made global (so any input size works), and raised to
/// <see cref="OnnxOpsetUpgrade.EditingOpset"/> when older, so in-graph resize and normalization can be prepended.
/// </summary>
internal static class BackboneModels
{
    /// <summary>Loads and prepares the backbone's model.</summary>
    /// <exception cref="AssetNotFoundException">The file cannot be found.</exception>
    /// <exception cref="AssetIntegrityException">The file's size or sha256 is wrong.</exception>
    /// <exception cref="OnnxFormatException">Not a usable ONNX model, or an old operator that cannot be raised.</exception>
    public static OnnxModel Load(BackboneInfo backbone, AssetResolver assets) => Prepare(OnnxModel.Load(assets.Resolve(backbone.Asset)));

    /// <summary>Prepares an already loaded model in place (see the class summary) and returns it.</summary>
    public static OnnxModel Prepare(OnnxModel model)
    {
        OnnxOpsetUpgrade.GlobalizeWholeMapPooling(model);
        OnnxOpsetUpgrade.Upgrade(model);
        return model;
    }
}
