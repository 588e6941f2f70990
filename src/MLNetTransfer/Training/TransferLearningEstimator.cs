using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using SkiaSharp;

namespace MLNetTransfer.Training;

/// <summary>
/// ML.NET estimator that fine-tunes a pretrained backbone (or trains the scratch CNN) on an image-path column and a key
/// label. <c>Fit</c> trains with TorchSharp, exports the network to ONNX, and returns ML.NET's own chain
/// (LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel → MapValueToKey), so <c>Model.Save/Load</c>,
/// PredictionEngine and the ONNX file need nothing of this library. Output: <c>Score</c> (class probabilities in key
/// order) and <c>PredictedLabel</c> (a one-element vector of the label's key type).
/// </summary>
public sealed class TransferLearningEstimator(TransferLearningOptions options) : IEstimator<ITransformer>
{
    private readonly MLContext ml = new(options.Seed);

    /// <summary>The options.</summary>
    public TransferLearningOptions Options { get; } = options;

    /// <summary>The last fit's result: the trained network, its ONNX export and the per-epoch history.</summary>
    public TransferLearningRun? LastRun { get; private set; }

    /// <summary>Trains and returns the ML.NET scoring chain.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The label is not a key, or the image column is not text.</exception>
    /// <exception cref="ArgumentException">Fewer than two classes, or an empty validation split.</exception>
    public ITransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        var labels = KeyNames(input.Schema[Options.LabelColumnName]);
        var rows = Read(input);
        var present = rows.Select(r => r.Label).Distinct().Count();
        if (present < 2) throw new ArgumentException($"Training needs images of at least 2 classes; the data has {present} ({rows.Count} rows).");

        List<(string Path, int Label)> train = rows, validation = [];
        if (Options.ValidationSet is { } explicitValidation) validation = Read(explicitValidation);
        else if (Options.ValidationFraction > 0)
        {
            var split = Stratified.Split(rows, r => r.Label.ToString(), Options.ValidationFraction, Options.Seed);
            (train, validation) = ([.. split.Train], [.. split.Validation]);
        }
        if (Options.EarlyStopping is not null && validation.Count == 0)
            throw new ArgumentException("Early stopping needs validation data, but the validation split is empty: set ValidationFraction (e.g. 0.1) or ValidationSet.");

        var (w, h) = DecodeSize(train.Select(r => r.Path));
        var trainStore = ImagePixelStore.Decode([.. train.Select(r => r.Path)], w, h);
        var validationStore = validation.Count > 0 ? ImagePixelStore.Decode([.. validation.Select(r => r.Path)], w, h) : null;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var network = TransferLearningTrainer.Train(trainStore, [.. train.Select(r => r.Label)], validationStore,
            validation.Count > 0 ? [.. validation.Select(r => r.Label)] : null, labels, Options);
        var onnx = network.Export();
        LastRun = new TransferLearningRun(network, onnx, watch.Elapsed.TotalSeconds, w, h);
        return BuildChain(onnx.ToByteArray(), labels, w, h, input);
    }

    /// <summary>Builds the ML.NET scoring chain around an exported network (also used to reload a saved model.onnx).</summary>
    public ITransformer BuildChain(byte[] onnx, IReadOnlyList<string> labels, int decodeWidth, int decodeHeight, IDataView input)
    {
        const string image = "mlnt_image";
        var keyData = ml.Data.LoadFromEnumerable(labels.Select(l => new LabelRow { Label = l }));
        return ml.Transforms.LoadImages(image, null, Options.ImageColumnName)
            .Append(ml.Transforms.ResizeImages(image, decodeWidth, decodeHeight, image))
            .Append(ml.Transforms.ExtractPixels(FeaturizerGraph.InputName, image, scaleImage: 1f / 255))
            .Append(ml.Transforms.ApplyOnnxModel([Options.ScoreColumnName, "PredictedLabel"], [FeaturizerGraph.InputName], new MemoryStream(onnx),
                new Dictionary<string, int[]> { [FeaturizerGraph.InputName] = [1, 3, decodeHeight, decodeWidth] }, null, false, 100))
            .Append(ml.Transforms.Conversion.MapValueToKey(Options.PredictedLabelColumnName, "PredictedLabel", keyData: keyData,
                keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence))
            .Append(ml.Transforms.DropColumns(image, FeaturizerGraph.InputName))
            .Fit(input);
    }

    /// <summary>Input: image path (text) and label (key). Output: adds Score and PredictedLabel.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireText(inputSchema, Options.ImageColumnName, "Image path");
        if (SchemaShapes.Find(inputSchema, Options.LabelColumnName) is not { } label)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{Options.LabelColumnName}' not found.");
        if (!label.IsKey)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for label column '{Options.LabelColumnName}': expected a key type, got {label.ItemType}. Add ml.Transforms.Conversion.MapValueToKey(\"{Options.LabelColumnName}\") before the trainer.");
        var columns = inputSchema.Where(c => c.Name != Options.ScoreColumnName && c.Name != Options.PredictedLabelColumnName).ToList();
        columns.Add(SchemaShapes.Column(Options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single));
        columns.Add(SchemaShapes.Column(Options.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.UInt32, isKey: true));
        return new SchemaShape(columns);
    }

    private List<(string Path, int Label)> Read(IDataView data)
    {
        var paths = data.GetColumn<string>(Options.ImageColumnName).ToList();
        var keys = data.GetColumn<uint>(Options.LabelColumnName).ToList();
        var rows = new List<(string, int)>(paths.Count);
        for (int i = 0; i < paths.Count; i++)
            if (keys[i] > 0) rows.Add((paths[i], (int)keys[i] - 1)); // key 0 = missing label: left out
        return rows;
    }

    private static string[] KeyNames(DataViewSchema.Column label)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        try { label.GetKeyValues(ref names); }
        catch (InvalidOperationException) { return [.. Enumerable.Range(0, (int)((KeyDataViewType)label.Type).Count).Select(i => i.ToString())]; }
        return [.. names.DenseValues().Select(n => n.ToString())];
    }

    private static (int, int) DecodeSize(IEnumerable<string> paths)
    {
        var sizes = new HashSet<(int, int)>();
        foreach (var path in paths.Take(64))
        {
            using var codec = File.Exists(path) ? SKCodec.Create(path) : null;
            if (codec is not null) sizes.Add((codec.Info.Width, codec.Info.Height));
        }
        // Small same-size images (CIFAR, MNIST) are kept at their size and upscaled in the graph; others go to 224.
        return sizes.Count == 1 && sizes.First() is var (w, h) && w <= 224 && h <= 224 ? (w, h) : (224, 224);
    }

    private sealed class LabelRow { public string Label { get; set; } = ""; }
}

/// <summary>What a TransferLearning fit produced besides the ML.NET chain.</summary>
/// <param name="Network">The trained TorchSharp network.</param>
/// <param name="Onnx">Its ONNX export (what the ML.NET chain runs).</param>
/// <param name="TrainSeconds">Wall time of training (decoding excluded).</param>
/// <param name="DecodeWidth">Width images are decoded to before the graph.</param>
/// <param name="DecodeHeight">Height images are decoded to.</param>
public sealed record TransferLearningRun(TrainedNetwork Network, OnnxModel Onnx, double TrainSeconds, int DecodeWidth, int DecodeHeight);
