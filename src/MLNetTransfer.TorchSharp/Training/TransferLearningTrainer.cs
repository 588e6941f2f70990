using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Hosting;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;

namespace MLNetTransfer.Training;

/// <summary>
/// ML.NET estimator that fine-tunes a pretrained backbone (or trains the scratch CNN) on an image column (a path, or the
/// encoded bytes) and a key label. <c>Fit</c> trains with TorchSharp, exports the network to ONNX, and returns an ML.NET
/// chain (decode → ResizeImages → ExtractPixels → ApplyOnnxModel) that ends in ML.NET's multiclass columns:
/// <c>Score</c>, a known-size vector of class probabilities in key order, and <c>PredictedLabel</c>, a scalar key of the
/// label's key type. The chain takes the same kind of image column it was trained on, needs no label column, and survives
/// <c>Model.Save/Load</c>; the fitted <see cref="TransferLearningTransformer"/> also gives the run (network, ONNX export,
/// epoch history) until it is saved. Create it with <c>mlContext.MulticlassClassification.Trainers.TransferLearning(options)</c>,
/// which logs through <c>mlContext.Log</c> and stops on <c>mlContext.CancelExecution()</c>.
/// </summary>
public sealed class TransferLearningTrainer : IEstimator<TransferLearningTransformer>
{
    private readonly MLNetEnvironment env;
    private readonly MLContext ml;

    /// <summary>Creates the trainer with an environment of its own (prefer the catalog method, which uses the caller's).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    /// <exception cref="ArgumentException">A column name is empty, or the backbone is missing or has multi-block features.</exception>
    public TransferLearningTrainer(TransferLearningOptions options) : this(options, null) { }

    internal TransferLearningTrainer(TransferLearningOptions options, MLNetEnvironment? env)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        this.env = env ?? MLNetEnvironment.Private(options.Seed);
        ml = this.env.NewContext(options.Seed);
    }

    /// <summary>The options (validated when the trainer was created).</summary>
    public TransferLearningOptions Options { get; }

    /// <summary>Called as each image row is read and checked: (from the validation set, 0-based row).</summary>
    internal Action<bool, int>? RowRead { get; init; }

    /// <summary>Called once the training/validation split is made: (training images, validation images).</summary>
    internal Action<int, int>? SplitMade { get; init; }

    /// <summary>Trains and returns the ML.NET scoring chain, with the run (<see cref="TransferLearningTransformer.Run"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The label is not a key, or the image column is neither text nor bytes.</exception>
    /// <exception cref="ArgumentException">Fewer than two classes, or an empty validation split.</exception>
    /// <exception cref="InvalidDataException">An image that passed the checks fails to decode in full (the message names it).</exception>
    /// <remarks>
    /// An image that cannot be read or decoded is skipped, as ML.NET's image classification trainer does: one line per
    /// image in <c>mlContext.Log</c> (channel TransferLearning) naming its row or file and the reason.
    /// </remarks>
    public TransferLearningTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        bool bytes = SchemaShapes.RequireImage(SchemaShapes.FromSchema(input.Schema), Options.ImageColumnName);
        if (Options.ValidationSet is { } given) CheckSameImageKind(given, bytes);
        var labels = KeyNames(input.Schema[Options.LabelColumnName]);
        int skipped = 0;
        var rows = Read(input, bytes, "training data", validation: false, ref skipped);
        var present = rows.Select(r => r.Label).Distinct().Count();
        if (present < 2)
            throw new ArgumentException($"Training needs images of at least 2 classes; the data has {present} ({rows.Count} usable rows, " +
                                        $"{skipped} skipped as unreadable: see mlContext.Log).");

        List<ImageRow> train = rows, validation = [];
        if (Options.ValidationSet is { } explicitValidation) validation = Read(explicitValidation, bytes, "validation set", validation: true, ref skipped);
        else if (Options.ValidationFraction > 0)
        {
            var split = Stratified.Split(rows, r => r.Label.ToString(), Options.ValidationFraction, Options.Seed);
            (train, validation) = ([.. split.Train], [.. split.Validation]);
        }
        if (Options.EarlyStopping is not null && validation.Count == 0)
            throw new ArgumentException("Early stopping needs validation data, but the validation split is empty: set ValidationFraction (e.g. 0.1) or ValidationSet.");

        SplitMade?.Invoke(train.Count, validation.Count);
        int networkSize = FineTuningLoop.NetworkSize(Options);
        var (w, h) = bytes ? DecodeSize.ForEncoded(train.Select(r => r.Bytes!), networkSize) : DecodeSize.ForFiles(train.Select(r => r.Source), networkSize);
        const string channel = "TransferLearning";
        env.Info(channel, $"{train.Count} training and {validation.Count} validation images, {labels.Length} classes; decoded at {w}x{h}, " +
                          $"network input {Options.ImageSize} px; strategy {Options.Strategy}, {Options.Epochs} epochs, batch {Options.BatchSize}.");
        var trainStore = DecodeAll(train, bytes, w, h);
        var validationStore = validation.Count > 0 ? DecodeAll(validation, bytes, w, h) : null;
        var callback = Options.MetricsCallback;
        var log = Options.Log;
        var options = Options with
        {
            MetricsCallback = m =>
            {
                env.Info(channel, $"epoch {m.Epoch + 1} ({m.Phase}): loss {m.TrainLoss:F4}, accuracy {m.TrainAccuracy:F3}, validation loss {m.ValidationLoss:F4}, " +
                                  $"validation accuracy {m.ValidationAccuracy:F3}, learning rate {m.LearningRate:G3}, {m.ImagesPerSecond:F0} img/s");
                callback?.Invoke(m);
            },
            Log = message => { env.Info(channel, message); log?.Invoke(message); },
            TemporaryRoot = ml.TempFilePath,
        };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var cancel = env.WatchCancellation();
        var network = FineTuningLoop.Train(trainStore, [.. train.Select(r => r.Label)], validationStore,
            validation.Count > 0 ? [.. validation.Select(r => r.Label)] : null, labels, options, cancel.Token);
        if (network.StopReason is { } reason) env.Info(channel, $"stopped: {reason}");
        double seconds = watch.Elapsed.TotalSeconds;
        var onnx = network.Export();
        return new TransferLearningTransformer(BuildChain(onnx.ToByteArray(), labels, w, h, input), new TrainingRun(network, onnx, seconds, w, h));
    }

    // The ML.NET scoring chain around an exported network.
    private ITransformer BuildChain(byte[] onnx, IReadOnlyList<string> labels, int decodeWidth, int decodeHeight, IDataView input) =>
        ScoringChain.Build(ml, onnx, labels, decodeWidth, decodeHeight, Options.ImageColumnName,
            SchemaShapes.RequireImage(SchemaShapes.FromSchema(input.Schema), Options.ImageColumnName),
            Options.ScoreColumnName, Options.PredictedLabelColumnName, input);

    /// <summary>
    /// Input: the image column (path text or encoded bytes) and the label (key). Output: adds <c>Score</c> (known-size float
    /// vector with the class names as slot names) and <c>PredictedLabel</c> (scalar key).
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireImage(inputSchema, Options.ImageColumnName);
        if (SchemaShapes.Find(inputSchema, Options.LabelColumnName) is not { } label)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{Options.LabelColumnName}' not found.");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for label column '{Options.LabelColumnName}': expected Key, got {label.ItemType}{(label.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}. " +
                $"Add ml.Transforms.Conversion.MapValueToKey(\"{Options.LabelColumnName}\") before the trainer.");
        return SchemaShapes.WithMulticlassOutputs(inputSchema, label, Options.ScoreColumnName, Options.PredictedLabelColumnName);
    }

    private void CheckSameImageKind(IDataView validation, bool bytes)
    {
        bool validationBytes = SchemaShapes.RequireImage(SchemaShapes.FromSchema(validation.Schema), Options.ImageColumnName);
        if (validationBytes != bytes)
            throw new ArgumentOutOfRangeException(nameof(validation),
                $"Schema mismatch for image column '{Options.ImageColumnName}' of the validation set: expected {(bytes ? "Vector<Byte> (encoded image)" : "String (image path)")} like the training data.");
    }

    /// <summary>One labelled image: a path, or encoded bytes (then <see cref="Source"/> names the row).</summary>
    private sealed record ImageRow(string Source, byte[]? Bytes, int Label);

    private List<ImageRow> Read(IDataView data, bool bytes, string what, bool validation, ref int skipped)
    {
        var keys = data.GetColumn<uint>(Options.LabelColumnName).ToList();
        var rows = new List<ImageRow>(keys.Count);
        if (bytes)
        {
            var column = data.Schema[Options.ImageColumnName];
            using var cursor = data.GetRowCursor([column]);
            var getter = cursor.GetGetter<VBuffer<byte>>(column);
            VBuffer<byte> buffer = default;
            int i = 0;
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                var encoded = buffer.DenseValues().ToArray();
                string source = $"Row {i} of the {what}, column '{Options.ImageColumnName}'";
                // Checked here, where the row is known: inside ML.NET's cursor a bad image surfaces without its position.
                if (EncodedImageDecoder.Problem(encoded) is { } problem) Skip($"{source}: {problem}", ref skipped);
                else if (keys[i] > 0) rows.Add(new ImageRow(source, encoded, (int)keys[i] - 1)); // key 0 = missing label: left out
                RowRead?.Invoke(validation, i);
                i++;
            }
            return rows;
        }
        var paths = data.GetColumn<string>(Options.ImageColumnName).ToList();
        for (int i = 0; i < paths.Count; i++)
        {
            if (FileProblem(paths[i]) is { } problem) Skip($"Row {i} of the {what}, {paths[i]}: {problem}", ref skipped);
            else if (keys[i] > 0) rows.Add(new ImageRow(paths[i], null, (int)keys[i] - 1));
            RowRead?.Invoke(validation, i);
        }
        return rows;
    }

    private void Skip(string line, ref int skipped)
    {
        skipped++;
        env.Info("TransferLearning", $"{line}; skipped.");
    }

    // A file that is missing, empty or not an image by its header (reading the header only: a full decode happens once,
    // when the pixels are stored).
    private static string? FileProblem(string path)
    {
        if (!File.Exists(path)) return "file not found";
        try
        {
            using var stream = File.OpenRead(path);
            if (stream.Length == 0) return "empty file";
            using var codec = SkiaSharp.SKCodec.Create(stream);
            return codec is null || codec.Info.Width <= 0 ? "not a supported image" : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ex.Message; }
    }

    private ImagePixelStore DecodeAll(List<ImageRow> rows, bool bytes, int width, int height)
    {
        if (!bytes) return ImagePixelStore.Decode([.. rows.Select(r => r.Source)], width, height);
        // The very steps the saved chain runs at prediction time, so training sees the pixels serving will see.
        var view = ml.Data.LoadFromEnumerable(rows.Select(r => new BytesRow { Image = r.Bytes! }));
        var decoded = ScoringChain.Decode(ml, nameof(BytesRow.Image), bytes: true, width, height, asFloat: false).Fit(view).Transform(view);
        return ImagePixelStore.FromDecoded(decoded, FeaturizerGraph.InputName, rows.Count, width, height,
            (row, ex) => new InvalidDataException($"{rows[Math.Min(row, rows.Count - 1)].Source}: corrupt or unsupported image ({ex.GetBaseException().Message})", ex));
    }

    private static string[] KeyNames(DataViewSchema.Column label)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        try { label.GetKeyValues(ref names); }
        catch (InvalidOperationException) { return [.. Enumerable.Range(0, (int)((KeyDataViewType)label.Type).Count).Select(i => i.ToString())]; }
        return [.. names.DenseValues().Select(n => n.ToString())];
    }

    private sealed class BytesRow { public byte[] Image { get; set; } = []; }
}
