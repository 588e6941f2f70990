using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;

namespace MLNetTransfer.Training;

/// <summary>
/// The ML.NET chain a fine-tuned network is served by: decode (a path column through LoadImages, or encoded bytes
/// through <see cref="EncodedImageDecoder"/>) → ResizeImages → ExtractPixels → ApplyOnnxModel → ML.NET's multiclass
/// columns. It ends exactly like ML.NET's own multiclass trainers: <c>Score</c> a known-size float vector of class
/// probabilities in key order, and <c>PredictedLabel</c> a scalar key of the label's key type whose key values are the
/// class names, so <c>MapKeyToValue</c>, a PredictionEngine with <c>string PredictedLabel</c> and
/// <c>MulticlassClassification.Evaluate</c> work, before and after <c>Model.Save/Load</c>. No label column is read.
/// </summary>
internal static class ScoringChain
{
    internal const string ImageColumn = "__mlnt_image";
    private const string OnnxScore = "Score";
    private const string OnnxLabel = "PredictedLabel";
    internal const string LabelTextColumn = "__mlnt_predicted_text";
    internal const string LabelContract = "MLNetTransfer.PredictedLabelText";

    /// <summary>The decode steps alone (image column → float pixels in [0,1], <see cref="FeaturizerGraph.InputName"/>).</summary>
    public static IEstimator<ITransformer> Decode(MLContext ml, string imageColumn, bool bytes, int width, int height, bool asFloat = true) =>
        EncodedImageDecoder.Decode(ml, imageColumn, bytes, ImageColumn)
            .Append(ml.Transforms.ResizeImages(ImageColumn, width, height, ImageColumn))
            .Append(asFloat
                ? ml.Transforms.ExtractPixels(FeaturizerGraph.InputName, ImageColumn, scaleImage: 1f / 255)
                : ml.Transforms.ExtractPixels(FeaturizerGraph.InputName, ImageColumn, outputAsFloatArray: false));

    /// <summary>Builds and fits the chain around an exported network whose outputs are <c>Score</c> [N,C] and <c>PredictedLabel</c> [N].</summary>
    public static ITransformer Build(MLContext ml, byte[] onnx, IReadOnlyList<string> labels, int width, int height, string imageColumn, bool bytes,
        string scoreColumn, string predictedLabelColumn, IDataView input)
    {
        var keyData = ml.Data.LoadFromEnumerable(labels.Select(l => new LabelRow { Label = l }));
        IEstimator<ITransformer> chain = Decode(ml, imageColumn, bytes, width, height)
            .Append(OnnxGraphFiles.ApplyOnnxModel(ml, [OnnxScore, OnnxLabel], [FeaturizerGraph.InputName], onnx,
                new Dictionary<string, int[]> { [FeaturizerGraph.InputName] = [1, 3, height, width] }))
            .Append(ml.Transforms.CustomMapping(new PredictedLabelTextFactory().GetMapping(), LabelContract))
            // Keys in label order: key k+1 is labels[k], the class of Score slot k (what Evaluate and MapKeyToValue assume).
            .Append(ml.Transforms.Conversion.MapValueToKey(predictedLabelColumn, LabelTextColumn, keyData: keyData,
                keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence));
        var drop = new List<string> { ImageColumn, FeaturizerGraph.InputName, LabelTextColumn };
        if (scoreColumn != OnnxScore)
        {
            chain = chain.Append(ml.Transforms.CopyColumns(scoreColumn, OnnxScore));
            drop.Add(OnnxScore);
        }
        if (predictedLabelColumn != OnnxLabel) drop.Add(OnnxLabel);
        return chain.Append(ml.Transforms.DropColumns([.. drop])).Fit(input);
    }

    /// <summary>ONNX gives the predicted name as a one-element string vector per row; ML.NET's convention is a scalar.</summary>
    public sealed class OnnxLabelRow
    {
        /// <summary>The network's predicted class name.</summary>
        [ColumnName(OnnxLabel)]
        public string[] Predicted { get; set; } = [];
    }

    /// <summary>The scalar predicted class name, turned into a key by the next step.</summary>
    public sealed class LabelTextRow
    {
        /// <summary>The predicted class name.</summary>
        [ColumnName(LabelTextColumn)]
        public string Text { get; set; } = "";
    }

    /// <summary>The factory ML.NET finds by contract name when it loads a saved model.</summary>
    [CustomMappingFactoryAttribute(LabelContract)]
    public sealed class PredictedLabelTextFactory : CustomMappingFactory<OnnxLabelRow, LabelTextRow>
    {
        /// <inheritdoc/>
        public override Action<OnnxLabelRow, LabelTextRow> GetMapping() => (input, output) =>
            output.Text = input.Predicted is { Length: > 0 } p ? p[0] : "";
    }

    private sealed class LabelRow { public string Label { get; set; } = ""; }
}
