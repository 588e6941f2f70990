using MLNetTransfer.Backbones;
using MLNetTransfer.Onnx;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Builds the featurizer's ONNX graph from a backbone: input float pixels [N,3,H,W] in [0,1] at any size → bilinear
/// resize to the network size → the backbone's normalization (channel order, pixel scale, mean or mean image, std) → the backbone truncated at its embedding (dequantized for
/// int8 graphs, or run as the fp32 twin) → float [N,D], optionally averaged with the mirrored image's. Moving resize and
/// normalization into the graph lets ONNX Runtime do them in batches (vectorized, multi-threaded) instead of per image
/// in managed code.
/// </summary>
internal static class FeaturizerGraph
{
    /// <summary>The graph input's name, also the name of the ML.NET pixel column that feeds it.</summary>
    public const string InputName = "mlnt_pixels";

    /// <summary>
    /// Returns the serialized graph for <paramref name="backbone"/> at <paramref name="networkSize"/>; its output is named
    /// <paramref name="outputName"/> (ML.NET's ApplyOnnxModel names columns after graph outputs).
    /// </summary>
    public static byte[] Build(BackboneInfo backbone, AssetResolver assets, int networkSize, string outputName = "embedding",
        bool flipAverage = false)
    {
        var model = BuildFloatNetwork(backbone, assets, outputName);
        if (backbone.Int8Ranges is { } ranges)
        {
            OnnxInt8Quantizer.FoldBatchNormalization(model);
            OnnxInt8Quantizer.Quantize(model, ranges);
        }
        PrependPreprocessing(model, backbone, assets, networkSize);
        if (flipAverage) OnnxGraphEdits.AddFlipAveraging(model, InputName, outputName);
        return model.ToByteArray();
    }

    /// <summary>The backbone as a float network cut at its embedding, output <paramref name="outputName"/> [N,D], input not yet preprocessed.</summary>
    internal static OnnxModel BuildFloatNetwork(BackboneInfo backbone, AssetResolver assets, string outputName)
    {
        var model = BackboneModels.Load(backbone, assets);
        if (backbone.RunAsFloat && OnnxDequantizer.IsQuantized(model)) model = OnnxDequantizer.ToFloat(model);
        var info = OnnxGraphEdits.Inspect(model);
        var input = string.IsNullOrEmpty(backbone.InputName) ? info.InputName : backbone.InputName;
        OnnxGraphEdits.MakeInputDimsSymbolic(model, input, "N", "C", "H", "W");
        var embedding = backbone.Embedding;
        long?[] dims = [null, embedding.Dimension];
        if (embedding.PooledBlocks.Count > 0)
        {
            if (embedding.IsQuantized)
                throw new ArgumentException($"Backbone '{backbone.Name}': pooled blocks need float tensors; set RunAsFloat for a quantized file.");
            OnnxGraphEdits.ExposePooledConcat(model, embedding.PooledBlocks, embedding.TensorName, outputName, embedding.Dimension);
        }
        else if (embedding.IsQuantized)
            OnnxGraphEdits.ExposeDequantized(model, embedding.TensorName, embedding.QuantScaleName!, embedding.QuantZeroPointName!, outputName, dims, flatten: true);
        else
            OnnxGraphEdits.ExposeFlattened(model, embedding.TensorName, outputName, dims);
        OnnxGraphEdits.Prune(model, outputName);
        return model;
    }

    /// <summary>Puts the pixel input in front: resize to <paramref name="networkSize"/>, then the backbone's normalization.</summary>
    internal static void PrependPreprocessing(OnnxModel model, BackboneInfo backbone, AssetResolver assets, int networkSize) =>
        OnnxGraphEdits.PrependPreprocessing(model, new PreprocessingSpec
        {
            InputName = InputName,
            Layout = PixelLayout.FloatNchw01,
            Normalization = backbone.Normalization(assets),
            ResizeTo = (networkSize, networkSize),
        });
}
