using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using MLNetTransfer.Tests.Onnx;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using Xunit.Abstractions;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Training;

/// <summary>
/// The fine-tuned scoring chain ends in ML.NET's own multiclass scorer: the final linear layer is read from the exported
/// graph (every layout ONNX allows for it), and the fitted chain has ML.NET's columns (<c>Score</c> 1-D with slot names,
/// <c>PredictedLabel</c> a key with the class names) before and after Save/Load, with the network's own probabilities.
/// </summary>
[Collection("heavy")]
public class ScoringChainTests(ITestOutputHelper output)
{
    private const int D = 5, K = 3;

    // ---- The final layer, from hand-built graphs: softmax(W·x + b) must equal ONNX Runtime's Score -------------------

    public static TheoryData<string> Tails => ["gemm-transB", "gemm-plain-alpha-beta", "gemm-scalar-bias", "gemm-no-bias", "matmul-add", "add-matmul",
        "matmul", "mlp", "opset11-softmax-axis1"];

    [Theory]
    [MemberData(nameof(Tails))]
    public void Final_linear_layer_is_read_in_every_layout(string tail)
    {
        var random = new Random(tail.Length * 31 + tail[0]);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var b = new OnnxGraphBuilder(tail);
        b.AddInput("x", OnnxDataType.Float, [null, D]);
        string features = "x";
        if (tail == "mlp")
        {
            b.AddInitializer("h_w", [D, D], Values(D * D));
            b.AddInitializer("h_b", [D], Values(D));
            var hidden = b.Add("Gemm", ["x", "h_w", "h_b"], AttributeProto.Int("transB", 1));
            var relu = b.Add("Relu", [hidden]);
            b.AddInitializer("bn_s", [D], Values(D));
            b.AddInitializer("bn_b", [D], Values(D));
            b.AddInitializer("bn_m", [D], Values(D));
            b.AddInitializer("bn_v", [D], [.. Values(D).Select(v => v * v + 0.5f)]);
            features = b.AddNode("BatchNormalization", [relu, "bn_s", "bn_b", "bn_m", "bn_v"], ["head_norm"], AttributeProto.Float("epsilon", 1e-5f));
        }
        string logits = tail switch
        {
            "gemm-transB" or "mlp" or "opset11-softmax-axis1" => b.Add("Gemm", [features, b.AddInitializer("w", [K, D], Values(K * D)), b.AddInitializer("c", [K], Values(K))],
                AttributeProto.Int("transB", 1)),
            "gemm-plain-alpha-beta" => b.Add("Gemm", [features, b.AddInitializer("w", [D, K], Values(K * D)), b.AddInitializer("c", [1, K], Values(K))],
                AttributeProto.Float("alpha", 0.7f), AttributeProto.Float("beta", 1.3f)),
            "gemm-scalar-bias" => b.Add("Gemm", [features, b.AddInitializer("w", [K, D], Values(K * D)), b.AddInitializer("c", [1], Values(1))],
                AttributeProto.Int("transB", 1)),
            "gemm-no-bias" => b.Add("Gemm", [features, b.AddInitializer("w", [K, D], Values(K * D))], AttributeProto.Int("transB", 1)),
            "matmul-add" => b.Add("Add", [b.Add("MatMul", [features, b.AddInitializer("w", [D, K], Values(K * D))]), b.AddInitializer("c", [K], Values(K))]),
            "add-matmul" => b.Add("Add", [b.AddInitializer("c", [K], Values(K)), b.Add("MatMul", [features, b.AddInitializer("w", [D, K], Values(K * D))])]),
            "matmul" => b.Add("MatMul", [features, b.AddInitializer("w", [D, K], Values(K * D))]),
            _ => throw new ArgumentOutOfRangeException(nameof(tail)),
        };
        if (tail == "opset11-softmax-axis1") b.AddNode("Softmax", [logits], ["Score"], AttributeProto.Int("axis", 1));
        else b.AddNode("Softmax", [logits], ["Score"]);
        b.AddOutput("Score", OnnxDataType.Float, [null, K]);
        var model = b.Build(tail == "opset11-softmax-axis1" ? 11 : 13);

        var layer = ScoringChain.FinalLinearLayer(model, "Score");
        Assert.Equal(tail == "mlp" ? "head_norm" : "x", layer.Input);
        Assert.Equal(K, layer.Weights.Length);
        Assert.All(layer.Weights, row => Assert.Equal(D, row.Length));

        // ONNX Runtime on the full graph against softmax(W·x + b) with the weights read, on the layer's own input.
        const int n = 4;
        var x = Values(n * D);
        var expected = OrtRunner.Run(model, "x", x, [n, D], "Score")["Score"].Data;
        var input = tail == "mlp" ? Expose(model, "head_norm", x, n) : x;
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, K).Select(k => layer.Bias[k] + Enumerable.Range(0, D).Sum(j => layer.Weights[k][j] * input[i * D + j])).ToArray();
            float max = z.Max();
            var e = z.Select(v => MathF.Exp(v - max)).ToArray();
            for (int k = 0; k < K; k++) Assert.Equal(expected[i * K + k], e[k] / e.Sum(), 5);
        }
    }

    private static float[] Expose(OnnxModel model, string tensor, float[] x, int n)
    {
        var copy = OnnxModel.Parse(model.ToByteArray());
        OnnxGraphEdits.ExposeTensorAsOutput(copy, tensor, OnnxDataType.Float, [null, D]);
        return OrtRunner.Run(copy, "x", x, [n, D], tensor)[tensor].Data;
    }

    [Fact]
    public void A_graph_that_does_not_end_in_softmax_of_a_linear_layer_is_refused_with_the_reason()
    {
        OnnxModel Graph(Action<OnnxGraphBuilder> body, long?[]? scoreDims = null)
        {
            var b = new OnnxGraphBuilder("bad");
            b.AddInput("x", OnnxDataType.Float, [null, D]);
            b.AddInitializer("w", [K, D], new float[K * D]);
            body(b);
            b.AddOutput("Score", OnnxDataType.Float, scoreDims ?? [null, K]);
            return b.Build();
        }
        string Refusal(OnnxModel m) => Assert.Throws<OnnxFormatException>(() => ScoringChain.FinalLinearLayer(m, "Score")).Message;

        Assert.Contains("produced by Identity", Refusal(Graph(b => b.AddNode("Identity", [b.Add("Gemm", ["x", "w"], AttributeProto.Int("transB", 1))], ["Score"]))));
        Assert.Contains("axis 0", Refusal(Graph(b => b.AddNode("Softmax", [b.Add("Gemm", ["x", "w"], AttributeProto.Int("transB", 1))], ["Score"], AttributeProto.Int("axis", 0)))));
        Assert.Contains("computed by Relu", Refusal(Graph(b => b.AddNode("Softmax", [b.Add("Relu", [b.Add("Gemm", ["x", "w"], AttributeProto.Int("transB", 1))])], ["Score"]))));
        Assert.Contains("not a float initializer", Refusal(Graph(b => b.AddNode("Softmax", [b.Add("Gemm", ["x", b.Add("Identity", ["w"])], AttributeProto.Int("transB", 1))], ["Score"]))));
        Assert.Contains("3 dimensions", Refusal(Graph(b => b.AddNode("Softmax", [b.Add("MatMul", ["x", b.AddInitializer("w2", [D, K], new float[D * K])])], ["Score"]), [null, null, K])));
        Assert.Contains("no such output", Assert.Throws<OnnxFormatException>(() => ScoringChain.FinalLinearLayer(
            Graph(b => b.AddNode("Softmax", [b.Add("Gemm", ["x", "w"], AttributeProto.Int("transB", 1))], ["Score"])), "Probabilities")).Message);
    }

    // ---- Fitted models on real images -------------------------------------------------------------------------------

    private static readonly string[] Classes = ["airplane", "automobile", "bird"];

    private static IReadOnlyList<LabeledImage> Images(IEnumerable<string> classes, int perClass) =>
        [.. TestAssets.CifarSubset(TestAssets.Cifar10Train, perClass).Where(i => classes.Contains(i.Label))];

    [NeedsAssets]
    [Fact]
    public void TransferLearning_model_ends_in_ml_net_multiclass_columns_before_and_after_save_and_load()
    {
        var ml = new MLContext(1);
        var images = Images(Classes, 4);
        var view = ml.Data.LoadImages(images);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue).Fit(view).Transform(view);
        using var model = ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions
        {
            Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, Epochs = 2, ImageSize = 32, BatchSize = 6, Seed = 3,
        }).Fit(keyed);
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        keyed.Schema["Label"].GetKeyValues(ref keyValues);
        Assert.Equal(Classes, keyValues.DenseValues().Select(v => v.ToString()));
        Assert.Equal(Classes, model.Run.Network.Labels);

        CheckChain(model, model.Run.Onnx, keyed, images, Classes, model.Run.DecodeWidth, model.Run.DecodeHeight);
    }

    [NeedsAssets]
    [Fact]
    public void Score_and_predicted_label_columns_take_the_names_the_options_give()
    {
        var ml = new MLContext(1);
        var images = Images(Classes, 2);
        var view = ml.Data.LoadImages(images);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue).Fit(view).Transform(view);
        using var model = ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions
        {
            Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, Epochs = 1, ImageSize = 32, BatchSize = 6,
            ScoreColumnName = "Probabilities", PredictedLabelColumnName = "Guess",
        }).Fit(keyed);
        using var dir = new TempDir();
        ml.Model.Save(model, keyed.Schema, dir.Combine("model.zip"));
        var loaded = new MLContext(2).Model.Load(dir.Combine("model.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        foreach (var schema in new[] { model.Transform(keyed).Schema, loaded.Transform(keyed).Schema })
        {
            AssertMulticlassColumns(schema, Classes, "Probabilities", "Guess");
            Assert.Null(schema.GetColumnOrNull("Score"));
            Assert.Null(schema.GetColumnOrNull("PredictedLabel"));
        }
        // The estimator declares the same before fitting.
        var estimated = ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions { ScoreColumnName = "Probabilities", PredictedLabelColumnName = "Guess" })
            .GetOutputSchema(SchemaShapes.FromSchema(keyed.Schema));
        Assert.Contains(estimated.Single(c => c.Name == "Probabilities").Annotations, a => a.Name == "SlotNames");
        Assert.Contains(estimated.Single(c => c.Name == "Guess").Annotations, a => a.Name == "KeyValues");
    }

    [NeedsAssets]
    [Fact]
    public void Transferred_network_with_the_keras_head_ends_in_ml_net_multiclass_columns()
    {
        var options = new TransferLearningOptions { Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, Epochs = 1, ImageSize = 32, BatchSize = 8, Seed = 2 };
        var a = Images(Classes, 4);
        using var source = TrainedNetwork.Train(ImagePixelStore.Decode([.. a.Select(i => i.Path)], 32, 32), [.. a.Select(i => Array.IndexOf(Classes, i.Label))],
            null, null, Classes, options);
        string[] vehicles = ["ship", "truck"];
        var b = Images(vehicles, 4);
        using var network = TrainedNetwork.Transfer(source, ImagePixelStore.Decode([.. b.Select(i => i.Path)], 32, 32), [.. b.Select(i => Array.IndexOf(vehicles, i.Label))],
            null, null, vehicles, options with { Head = HeadKind.Keras, DropoutRate = 0.1 });

        var ml = new MLContext(2);
        var view = ml.Data.LoadImages(b);
        var model = network.CreateModel(ml, view);
        using var disposeModel = Disposal.Of(model);
        CheckChain(model, network.Export(), view, b, vehicles, network.ImageSize, network.ImageSize);

        // What the previous version computed for this network (the whole graph in ApplyOnnxModel): the same scores and labels.
        var predicted = model.Transform(view);
        var legacy = LegacyChain(ml, network.Export().ToByteArray(), vehicles, network.ImageSize, network.ImageSize, view);
        using var disposeLegacy = Disposal.Of(legacy);
        AssertSamePredictions(predicted, legacy.Transform(view), 1e-5f, "previous chain");
    }

    /// <summary>The multiclass columns, before and after Save/Load in a new context; the scores against ONNX Runtime on the full exported network.</summary>
    private void CheckChain(ITransformer model, OnnxModel exported, IDataView view, IReadOnlyList<LabeledImage> images, string[] classes, int width, int height)
    {
        var scored = model.Transform(view);
        AssertMulticlassColumns(scored.Schema, classes);
        using var dir = new TempDir();
        new MLContext(5).Model.Save(model, view.Schema, dir.Combine("model.zip"));
        var fresh = new MLContext(6);
        var loaded = fresh.Model.Load(dir.Combine("model.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        var freshView = fresh.Data.LoadImages(images);
        var reloaded = loaded.Transform(freshView);
        AssertMulticlassColumns(reloaded.Schema, classes);
        AssertSamePredictions(scored, reloaded, 0f, "saved and loaded");

        // ONNX Runtime on the exported model.onnx (the whole network, ending in Softmax) with the chain's own pixels.
        var ml = new MLContext(7);
        var pixels = ScoringChain.Decode(ml, "ImagePath", bytes: false, width, height).Fit(freshView).Transform(freshView)
            .GetColumn<float[]>(FeaturizerGraph.InputName).ToList();
        Assert.Contains(exported.Graph.Node, n => n.OpType == "ArgMax"); // model.onnx stays the whole network, label lookup included
        var ort = OrtRunner.Run(exported, FeaturizerGraph.InputName, [.. pixels.SelectMany(p => p)], [pixels.Count, 3, height, width], "Score")["Score"].Data;
        var scores = reloaded.GetColumn<float[]>("Score").ToList();
        float max = 0;
        for (int i = 0; i < scores.Count; i++)
            for (int k = 0; k < classes.Length; k++) max = Math.Max(max, Math.Abs(scores[i][k] - ort[i * classes.Length + k]));
        output.WriteLine($"{classes.Length} classes, {scores.Count} images: ML.NET chain vs ONNX Runtime full network, max score difference {max:G3}");
        Assert.True(max <= 1e-4f, $"ML.NET chain vs the exported network: {max}");
    }

    private static void AssertMulticlassColumns(DataViewSchema schema, string[] classes, string scoreColumn = "Score", string predictedLabelColumn = "PredictedLabel")
    {
        var score = schema[scoreColumn];
        var vector = Assert.IsType<VectorDataViewType>(score.Type);
        Assert.Equal(NumberDataViewType.Single, vector.ItemType);
        Assert.Equal(classes.Length, vector.Size);
        Assert.Equal(new[] { classes.Length }, vector.Dimensions.ToArray());
        VBuffer<ReadOnlyMemory<char>> names = default;
        score.GetSlotNames(ref names);
        Assert.Equal(classes, names.DenseValues().Select(n => n.ToString()));

        var predicted = schema[predictedLabelColumn];
        var key = Assert.IsType<KeyDataViewType>(predicted.Type);
        Assert.Equal((ulong)classes.Length, key.Count);
        VBuffer<ReadOnlyMemory<char>> values = default;
        predicted.GetKeyValues(ref values);
        Assert.Equal(classes, values.DenseValues().Select(v => v.ToString()));
        Assert.DoesNotContain(schema, c => c.Name is ScoringChain.FeatureColumn or ScoringChain.ImageColumn or FeaturizerGraph.InputName);
    }

    private static void AssertSamePredictions(IDataView a, IDataView b, float tolerance, string what)
    {
        var (scoresA, scoresB) = (a.GetColumn<float[]>("Score").ToList(), b.GetColumn<float[]>("Score").ToList());
        var (labelsA, labelsB) = (a.GetColumn<uint>("PredictedLabel").ToList(), b.GetColumn<uint>("PredictedLabel").ToList());
        Assert.Equal(scoresA.Count, scoresB.Count);
        for (int i = 0; i < scoresA.Count; i++)
        {
            Assert.Equal(scoresA[i].Length, scoresB[i].Length);
            for (int k = 0; k < scoresA[i].Length; k++)
                Assert.True(Math.Abs(scoresA[i][k] - scoresB[i][k]) <= tolerance, $"{what}: row {i} class {k}: {scoresA[i][k]} vs {scoresB[i][k]}");
            Assert.Equal(labelsA[i], labelsB[i]);
            Assert.Equal((uint)(Array.IndexOf(scoresA[i], scoresA[i].Max()) + 1), labelsA[i]);
        }
    }

    // ---- The chain the previous version built, and its saved form ---------------------------------------------------

    /// <summary>The previous version's chain: the whole network in ApplyOnnxModel, its PredictedLabel string through the legacy CustomMapping and MapValueToKey.</summary>
    private static ITransformer LegacyChain(MLContext ml, byte[] onnx, IReadOnlyList<string> labels, int width, int height, IDataView input)
    {
        var keyData = ml.Data.LoadFromEnumerable(labels.Select(l => new LabelRow { Label = l }));
        return ScoringChain.Decode(ml, "ImagePath", bytes: false, width, height)
            .Append(OnnxGraphFiles.ApplyOnnxModel(ml, ["Score", "PredictedLabel"], [FeaturizerGraph.InputName], onnx,
                new Dictionary<string, int[]> { [FeaturizerGraph.InputName] = [1, 3, height, width] }))
            .Append(ml.Transforms.CustomMapping(new ScoringChain.LegacyPredictedLabelTextFactory().GetMapping(), ScoringChain.LegacyLabelContract))
            .Append(ml.Transforms.Conversion.MapValueToKey("PredictedLabel", ScoringChain.LegacyLabelTextColumn, keyData: keyData,
                keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence))
            .Append(ml.Transforms.DropColumns(ScoringChain.ImageColumn, FeaturizerGraph.InputName, ScoringChain.LegacyLabelTextColumn))
            .Fit(input);
    }

    [NeedsAssets]
    [Fact]
    public void A_model_zip_saved_by_the_previous_version_still_loads_and_predicts()
    {
        var options = new TransferLearningOptions { Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, Epochs = 1, ImageSize = 32, BatchSize = 6, Seed = 4 };
        var images = Images(Classes, 2);
        using var network = TrainedNetwork.Train(ImagePixelStore.Decode([.. images.Select(i => i.Path)], 32, 32),
            [.. images.Select(i => Array.IndexOf(Classes, i.Label))], null, null, Classes, options);
        var ml = new MLContext(1);
        var view = ml.Data.LoadImages(images);
        var legacy = LegacyChain(ml, network.Export().ToByteArray(), Classes, 32, 32, view);
        using var disposeLegacy = Disposal.Of(legacy);
        using var dir = new TempDir();
        ml.Model.Save(legacy, view.Schema, dir.Combine("old.zip"));

        var fresh = new MLContext(2);
        var loaded = fresh.Model.Load(dir.Combine("old.zip"), out _);
        using var disposeLoaded = Disposal.Of(loaded);
        var current = network.CreateModel(fresh, view);
        using var disposeCurrent = Disposal.Of(current);
        AssertSamePredictions(current.Transform(view), loaded.Transform(fresh.Data.LoadImages(images)), 1e-5f, "model.zip of the previous version");
    }

    public sealed class LabelRow { public string Label { get; set; } = ""; }
}
