using MLNetTransfer.Backbones;

namespace MLNetTransfer.Torch;

/// <summary>A catalog backbone as a trainable TorchSharp body: prepared file, cut at the embedding, the record's block boundaries.</summary>
internal static class BackboneImport
{
    /// <summary>
    /// Imports the backbone (through <see cref="BackboneModels.Load"/>), cuts it at <paramref name="embeddingTensor"/>
    /// (default: the catalog's embedding) and applies the record's <see cref="BackboneInfo.BlockOutputs"/> when it has them.
    /// </summary>
    public static OnnxTorchModule Body(BackboneInfo backbone, AssetResolver assets, string? embeddingTensor = null)
    {
        var body = OnnxTorchImporter.Import(BackboneModels.Load(backbone, assets));
        body.CutAt(embeddingTensor ?? backbone.Embedding.TensorName);
        if (backbone.BlockOutputs.Count > 0) body.UseBlockBoundaries(backbone.BlockOutputs);
        return body;
    }
}
