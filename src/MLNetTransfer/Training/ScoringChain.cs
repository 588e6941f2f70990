using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Training;

/// <summary>
/// The ML.NET chain a fine-tuned network is served by: decode (a path column through LoadImages, or encoded bytes
/// through <see cref="EncodedImageDecoder"/>) → ResizeImages → ExtractPixels → ApplyOnnxModel (the network up to the
/// input of its final fully-connected layer) → ML.NET's own multiclass scorer holding that layer's weights
/// (<see cref="MulticlassLinearModel"/>) → DropColumns. It ends exactly like ML.NET's own multiclass trainers: <c>Score</c>
/// a 1-D known-size float vector of class probabilities in key order with the class names as <c>SlotNames</c>, and
/// <c>PredictedLabel</c> a scalar key whose key values are the class names, so <c>MapKeyToValue</c>, a PredictionEngine
/// with <c>string PredictedLabel</c> and <c>MulticlassClassification.Evaluate</c> work, before and after
/// <c>Model.Save/Load</c>. No label column is read.
/// </summary>
internal static class ScoringChain
{
    internal const string ImageColumn = "__mlnt_image";
    /// <summary>The graph output the network's class probabilities are read from (what the exporter writes).</summary>
    private const string OnnxScore = "Score";
    /// <summary>The penultimate features (the final linear layer's input), a graph output and an ML.NET column dropped at the end.</summary>
    internal const string FeatureColumn = "__mlnt_features";
    /// <summary>The label column of the scorer's train schema; it carries the class names as key values and is never read from data.</summary>
    internal const string TrainLabelColumn = "__mlnt_label";

    /// <summary>The decode steps alone (image column → float pixels in [0,1], <see cref="FeaturizerGraph.InputName"/>).</summary>
    public static IEstimator<ITransformer> Decode(MLContext ml, string imageColumn, bool bytes, int width, int height, bool asFloat = true) =>
        EncodedImageDecoder.Decode(ml, imageColumn, bytes, ImageColumn)
            .Append(ml.Transforms.ResizeImages(ImageColumn, width, height, ImageColumn))
            .Append(asFloat
                ? ml.Transforms.ExtractPixels(FeaturizerGraph.InputName, ImageColumn, scaleImage: 1f / 255)
                : ml.Transforms.ExtractPixels(FeaturizerGraph.InputName, ImageColumn, outputAsFloatArray: false));

    /// <summary>
    /// Builds and fits the chain around an exported network whose output <c>Score</c> [N,K] is Softmax of a final linear
    /// layer (Gemm, or MatMul then Add); <paramref name="labels"/> names its K classes in output order. ONNX Runtime runs
    /// the network up to that layer's input; the layer itself becomes ML.NET's scorer (softmax(W·x + b), the same
    /// probabilities). <paramref name="onnx"/> itself is not changed.
    /// </summary>
    /// <exception cref="OnnxFormatException">The graph does not end in Softmax of a linear layer with constant weights for <paramref name="labels"/>.Count classes.</exception>
    public static ITransformer Build(MLContext ml, byte[] onnx, IReadOnlyList<string> labels, int width, int height, string imageColumn, bool bytes,
        string scoreColumn, string predictedLabelColumn, IDataView input)
    {
        var model = OnnxModel.Parse(onnx, "fine-tuned network");
        var layer = FinalLinearLayer(model, OnnxScore);
        if (layer.Bias.Length != labels.Count)
            throw new OnnxFormatException($"{model.Source}: the final linear layer has {layer.Bias.Length} outputs but {labels.Count} class names were given.");
        OnnxGraphEdits.ExposeFlattened(model, layer.Input, FeatureColumn, [null, layer.Weights[0].Length]);
        OnnxGraphEdits.Prune(model, FeatureColumn);

        var featurize = Decode(ml, imageColumn, bytes, width, height)
            .Append(OnnxGraphFiles.ApplyOnnxModel(ml, [FeatureColumn], [FeaturizerGraph.InputName], model.ToByteArray(),
                new Dictionary<string, int[]> { [FeaturizerGraph.InputName] = [1, 3, height, width] }))
            .Fit(input);
        try
        {
            var features = featurize.Transform(input);
            var scorer = MulticlassLinearModel.Create(ml, layer.Weights, layer.Bias, TrainSchema(ml, features.Schema[FeatureColumn].Type, labels),
                FeatureColumn, TrainLabelColumn, MulticlassLinearModel.ScoreColumn, MulticlassLinearModel.PredictedLabelColumn);
            var finished = MulticlassLinearModel.Finish(ml, scorer.Transform(features), scoreColumn, predictedLabelColumn,
                ImageColumn, FeaturizerGraph.InputName, FeatureColumn);
            return new TransformerChain<ITransformer>([.. featurize, scorer, .. finished]);
        }
        catch
        {
            OnnxGraphFiles.Dispose(featurize);
            throw;
        }
    }

    /// <summary>
    /// The scorer's train schema: the feature column (of the type the ONNX step gives it) and a key label column whose key
    /// values are <paramref name="labels"/> in order — key k+1 is labels[k], the class of Score slot k (what Evaluate and
    /// MapKeyToValue assume). Made from an empty view: no rows are read.
    /// </summary>
    private static DataViewSchema TrainSchema(MLContext ml, DataViewType featureType, IReadOnlyList<string> labels)
    {
        var definition = SchemaDefinition.Create(typeof(TrainRow));
        var features = definition[nameof(TrainRow.Features)];
        features.ColumnName = FeatureColumn;
        features.ColumnType = featureType;
        definition[nameof(TrainRow.Label)].ColumnName = TrainLabelColumn;
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<TrainRow>(), definition);
        var keyData = ml.Data.LoadFromEnumerable(labels.Select(l => new LabelRow { Label = l }));
        return ml.Transforms.Conversion.MapValueToKey(TrainLabelColumn, keyData: keyData,
                keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence)
            .Fit(empty).Transform(empty).Schema;
    }

    /// <summary>The last fully-connected layer of a network: logits = <see cref="Weights"/>·input + <see cref="Bias"/>.</summary>
    /// <param name="Input">The tensor the layer reads ([N, D]).</param>
    /// <param name="Weights">K rows of D weights (row k gives logit k).</param>
    /// <param name="Bias">K biases.</param>
    internal sealed record LinearLayer(string Input, float[][] Weights, float[] Bias);

    /// <summary>
    /// Reads the layer that output <paramref name="scoreOutput"/> = Softmax(logits) over the last axis is computed from:
    /// <c>Gemm(x, B, C)</c> (any transB, alpha, beta; transA 0; C of K values or one) or <c>Add(MatMul(x, B[D,K]), C)</c>
    /// (either Add order, or MatMul alone), with B and C initializers.
    /// </summary>
    /// <exception cref="OnnxFormatException">The graph does not end that way; the message says where it differs.</exception>
    internal static LinearLayer FinalLinearLayer(OnnxModel model, string scoreOutput)
    {
        var g = model.Graph;
        string expected = $"a fine-tuned network's '{scoreOutput}' output must be Softmax over the last axis of a final linear layer " +
                          "(Gemm, or MatMul then Add, with constant weights)";
        OnnxFormatException Fail(string found) => new($"{model.Source}: {expected}; {found}.");
        NodeProto? Producer(string tensor) => g.Node.LastOrDefault(n => n.Output.Contains(tensor));
        TensorProto Constant(string tensor, string role) => g.FindInitializer(tensor) is { } t && t.ElementType is OnnxDataType.Float or OnnxDataType.Double
            ? t : throw Fail($"its {role} '{tensor}' is not a float initializer");

        var output = g.Output.FirstOrDefault(o => o.Name == scoreOutput) ?? throw Fail("the graph has no such output");
        var softmax = Producer(scoreOutput);
        if (softmax is null || softmax.OpType != "Softmax" || softmax.Domain is not ("" or "ai.onnx"))
            throw Fail($"it is produced by {(softmax is null ? "no node" : softmax.Label)}");
        long axis = softmax.GetInt("axis", model.OpsetVersion() >= 13 ? -1 : 1);
        if (axis is not (1 or -1)) throw Fail($"{softmax.Label} normalizes over axis {axis}");
        var declared = output.Type?.TensorType?.Shape?.Dim;
        if (declared is { Count: not 2 }) throw Fail($"it is declared with {declared.Count} dimensions, not [N, classes]");

        string logits = softmax.Input[0];
        var linear = Producer(logits) ?? throw Fail($"its input '{logits}' is not computed by a node");
        if (linear.OpType == "Gemm")
        {
            if (linear.GetInt("transA", 0) != 0) throw Fail($"{linear.Label} has transA=1");
            var b = Constant(linear.Input[1], $"{linear.Label} weight");
            if (b.Dims.Count != 2) throw Fail($"{linear.Label} weight has {b.Dims.Count} dimensions");
            bool transB = linear.GetInt("transB", 0) != 0;
            float alpha = linear.GetFloat("alpha", 1f), beta = linear.GetFloat("beta", 1f);
            var weights = Rows(b.ToFloatArray(), (int)b.Dims[0], (int)b.Dims[1], transposed: !transB, alpha);
            var bias = linear.Input.Count > 2 && linear.Input[2].Length > 0
                ? Bias(Constant(linear.Input[2], $"{linear.Label} bias"), weights.Length, beta, linear.Label, Fail)
                : new float[weights.Length];
            return new LinearLayer(linear.Input[0], weights, bias);
        }
        TensorProto? biasTensor = null;
        string biasLabel = "";
        if (linear.OpType == "Add")
        {
            biasLabel = linear.Label;
            var products = linear.Input.Select(i => (Input: i, Node: Producer(i))).ToList();
            int matMul = products.FindIndex(p => p.Node?.OpType == "MatMul");
            if (matMul < 0) throw Fail($"{linear.Label} adds no MatMul result");
            biasTensor = Constant(linear.Input[1 - matMul], $"{linear.Label} bias");
            linear = products[matMul].Node!;
        }
        if (linear.OpType != "MatMul") throw Fail($"its input '{logits}' is computed by {linear.Label}");
        var w = Constant(linear.Input[1], $"{linear.Label} weight");
        if (w.Dims.Count != 2) throw Fail($"{linear.Label} weight has {w.Dims.Count} dimensions");
        var rows = Rows(w.ToFloatArray(), (int)w.Dims[0], (int)w.Dims[1], transposed: true, 1f);
        return new LinearLayer(linear.Input[0], rows,
            biasTensor is null ? new float[rows.Length] : Bias(biasTensor, rows.Length, 1f, biasLabel, Fail));
    }

    // B holds [K, D] (row k = class k) or, transposed, [D, K].
    private static float[][] Rows(float[] values, int d0, int d1, bool transposed, float scale)
    {
        int classes = transposed ? d1 : d0, width = transposed ? d0 : d1;
        var rows = new float[classes][];
        for (int k = 0; k < classes; k++)
        {
            rows[k] = new float[width];
            for (int j = 0; j < width; j++) rows[k][j] = scale * values[transposed ? j * d1 + k : k * d1 + j];
        }
        return rows;
    }

    private static float[] Bias(TensorProto c, int classes, float scale, string node, Func<string, OnnxFormatException> fail)
    {
        var values = c.ToFloatArray();
        // One value per class ([K], [1,K]) or one for all (a scalar, [1]); a bias that varies along the batch is not a layer's.
        bool perClass = values.Length == classes && c.Dims.Count >= 1 && c.Dims[^1] == classes;
        if (!perClass && values.Length != 1) throw fail($"{node} bias '{c.Name}' has shape [{string.Join(",", c.Dims)}], not [{classes}]");
        return [.. Enumerable.Range(0, classes).Select(k => scale * values[perClass ? k : 0])];
    }

    private sealed class TrainRow
    {
        public float[] Features { get; set; } = [];
        public string Label { get; set; } = "";
    }

    private sealed class LabelRow { public string Label { get; set; } = ""; }

    // ---- Models saved before the chain ended in ML.NET's scorer -------------------------------------------------------
    // Until this version the chain ran the whole network in ApplyOnnxModel, turned its one-element PredictedLabel string
    // vector into a scalar with a CustomMapping registered under "MLNetTransfer.PredictedLabelText", and keyed it with
    // MapValueToKey. Nothing builds that step any more, but ML.NET finds a saved CustomMapping's factory by its contract
    // name when it loads a model.zip: this factory (same contract, same column names) keeps those files loading.

    internal const string LegacyLabelContract = "MLNetTransfer.PredictedLabelText";
    internal const string LegacyLabelTextColumn = "__mlnt_predicted_text";

    /// <summary>Input row of the legacy mapping: the exported network's predicted name, a one-element string vector.</summary>
    public sealed class LegacyOnnxLabelRow
    {
        /// <summary>The network's predicted class name.</summary>
        [ColumnName("PredictedLabel")]
        public string[] Predicted { get; set; } = [];
    }

    /// <summary>Output row of the legacy mapping: the scalar predicted class name.</summary>
    public sealed class LegacyLabelTextRow
    {
        /// <summary>The predicted class name.</summary>
        [ColumnName(LegacyLabelTextColumn)]
        public string Text { get; set; } = "";
    }

    /// <summary>Kept only so model.zip files saved by earlier versions load (see above); new chains do not use it.</summary>
    [CustomMappingFactoryAttribute(LegacyLabelContract)]
    public sealed class LegacyPredictedLabelTextFactory : CustomMappingFactory<LegacyOnnxLabelRow, LegacyLabelTextRow>
    {
        /// <inheritdoc/>
        public override Action<LegacyOnnxLabelRow, LegacyLabelTextRow> GetMapping() => (input, output) =>
            output.Text = input.Predicted is { Length: > 0 } p ? p[0] : "";
    }
}
