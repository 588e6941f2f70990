using MLNetTransfer.Backbones;

namespace MLNetTransfer.Torch;

/// <summary>A catalog backbone as a trainable TorchSharp body: prepared file, cut at the embedding, the record's block boundaries.</summary>
internal static class BackboneImport
{
    public static OnnxTorchModule Body(BackboneInfo backbone, AssetResolver assets, string? embeddingTensor = null)
    {
        var body = OnnxTorchImporter.Import(BackboneModels.Load(backbone, assets));
        body.CutAt(embeddingTensor ?? backbone.Embedding.TensorName);
        if (backbone.BlockOutputs.Count > 0) body.UseBlockBoundaries(backbone.BlockOutputs);
        return body;
    }
}
