using MLNetTransfer.Backbones;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>
/// The one place a trainable network is made, body and head, for a new run and for one rebuilt from a saved
/// <c>network.json</c>: so a saved network always has the architecture it was trained with.
/// </summary>
internal static class NetworkBuilder
{
    /// <summary>The scratch CNN's input normalization (it has no pretrained statistics): [0,1] pixels to about [-2, 2].</summary>
    public static ImageNormalization ScratchNormalization { get; } = new([0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]);

    /// <summary>
    /// The body cut at the embedding and its embedding width: the seeded scratch CNN for <see cref="TransferStrategy.Scratch"/>,
    /// otherwise the imported backbone (cut at <paramref name="embeddingTensor"/>, default the catalog's embedding).
    /// </summary>
    public static (OnnxTorchModule Body, int Width) Body(TransferStrategy strategy, BackboneInfo backbone, AssetResolver assets, int seed,
        string? embeddingTensor = null)
    {
        if (strategy == TransferStrategy.Scratch)
        {
            var scratch = OnnxTorchImporter.Import(ScratchCnn.Build(seed));
            scratch.CutAt(ScratchCnn.EmbeddingName);
            return (scratch, ScratchCnn.EmbeddingDimension);
        }
        return (BackboneImport.Body(backbone, assets, embeddingTensor), backbone.Embedding.Dimension);
    }

    /// <summary>A new head (initialized by the caller's <c>torch.manual_seed</c>) from <paramref name="width"/> features to <paramref name="classes"/> logits.</summary>
    public static nn.Module<Tensor, Tensor> Head(HeadKind kind, int width, int classes, double dropout) => kind == HeadKind.Keras
        ? new KerasHead(width, classes, dropout)
        : new LinearHead(width, classes, dropout);
}
