using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>
/// A fine-tuned network: body (cut at the embedding) + head, and how to feed it. Made by <see cref="TransferLearningTrainer"/>
/// (see <see cref="TrainingRun.Network"/>), or without ML.NET by <see cref="Train"/> and <see cref="Transfer"/> on decoded images.
/// </summary>
public sealed class TrainedNetwork : IDisposable
{
    /// <summary>
    /// Trains on decoded images, outside ML.NET (the fine-tuning <see cref="TransferLearningTrainer"/> runs):
    /// <paramref name="trainLabels"/>[i] is the index in <paramref name="labels"/> of image i.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    /// <exception cref="ArgumentException">Fewer than two classes, or an empty training set.</exception>
    public static TrainedNetwork Train(ImagePixelStore train, int[] trainLabels, ImagePixelStore? validation, int[]? validationLabels,
        IReadOnlyList<string> labels, TransferLearningOptions options, CancellationToken cancel = default) =>
        FineTuningLoop.Train(train, trainLabels, validation, validationLabels, labels, Checked(options), cancel);

    /// <summary>
    /// Trains a new head (and, per the strategy, later blocks) on the body of <paramref name="source"/>, a network trained on
    /// another task: the task-A → task-B transfer. The body's normalization is kept; with <see cref="TransferStrategy.HeadOnly"/>
    /// the shared layers do not change. <see cref="TransferLearningOptions.ContinueFrom"/> is not read.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    /// <exception cref="ArgumentException">Fewer than two classes, or an empty training set.</exception>
    public static TrainedNetwork Transfer(TrainedNetwork source, ImagePixelStore train, int[] trainLabels, ImagePixelStore? validation,
        int[]? validationLabels, IReadOnlyList<string> labels, TransferLearningOptions options, CancellationToken cancel = default) =>
        FineTuningLoop.Transfer(source ?? throw new ArgumentNullException(nameof(source)), train, trainLabels, validation, validationLabels, labels,
            Checked(options), cancel);

    private static TransferLearningOptions Checked(TransferLearningOptions options) =>
        (options ?? throw new ArgumentNullException(nameof(options))).Validate();

    internal TrainedNetwork(OnnxTorchModule body, nn.Module<Tensor, Tensor> head, IReadOnlyList<string> labels, int imageSize,
        ImageNormalization normalization, IReadOnlyList<EpochMetrics> history, string? stopReason)
    {
        Body = body;
        Head = head;
        Labels = labels;
        ImageSize = imageSize;
        Normalization = normalization;
        History = history;
        StopReason = stopReason;
    }

    /// <summary>The backbone (or scratch CNN), returning the pooled embedding.</summary>
    public OnnxTorchModule Body { get; }
    /// <summary>The classifier head.</summary>
    public nn.Module<Tensor, Tensor> Head { get; }
    /// <summary>Class names in output order.</summary>
    public IReadOnlyList<string> Labels { get; }
    /// <summary>Side of the square image the network sees.</summary>
    public int ImageSize { get; }
    /// <summary>How pixels are normalized for this network (the backbone's: channel order, scale, mean, std).</summary>
    public ImageNormalization Normalization { get; }
    /// <summary>Normalization mean per channel (<see cref="Normalization"/>'s).</summary>
    public float[] Mean => Normalization.Mean;
    /// <summary>Normalization std per channel (<see cref="Normalization"/>'s).</summary>
    public float[] Std => Normalization.Std;
    /// <summary>Per-epoch metrics.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }
    /// <summary>Why training ended before the last epoch (early stopping, NaN loss), or null.</summary>
    public string? StopReason { get; }

    /// <summary>
    /// The network as an fp32 ONNX model taking float RGB in [0,1] of any size as <c>mlnt_pixels</c> [N,3,H,W] (what ML.NET's
    /// ExtractPixels with scale 1/255 produces), resizing and normalizing inside, and returning <c>Score</c> (probabilities)
    /// and <c>PredictedLabel</c> (class name).
    /// </summary>
    public OnnxModel Export() => TorchOnnxExporter.Export(Body, (IExportableHead)Head, new ExportOptions
    {
        Labels = Labels,
        Preprocessing = new PreprocessingSpec
        {
            InputName = Featurization.FeaturizerGraph.InputName, Layout = PixelLayout.FloatNchw01, Normalization = Normalization,
            ResizeTo = (ImageSize, ImageSize),
        },
    });

    /// <summary>
    /// The network as a fitted ML.NET model (the scoring chain <see cref="TransferLearningTrainer"/> returns), for networks
    /// trained directly with <see cref="Train"/> or <see cref="Transfer"/>: image column in
    /// (a path, or encoded bytes, as in <paramref name="input"/>), ML.NET's multiclass columns out — <c>Score</c>, a
    /// known-size probability vector in <see cref="Labels"/> order with <see cref="Labels"/> as slot names, and
    /// <c>PredictedLabel</c>, a scalar key whose key
    /// values are <see cref="Labels"/>. It needs no label column and survives <c>mlContext.Model.Save/Load</c>.
    /// </summary>
    /// <param name="ml">The context whose transforms build the chain.</param>
    /// <param name="input">Data (or an empty view) with the image column; only its schema is read.</param>
    /// <param name="imageColumnName">The image column. Default <c>ImagePath</c>.</param>
    /// <param name="decodeWidth">Width images are decoded to before the graph resizes them; default <see cref="ImageSize"/>.</param>
    /// <param name="decodeHeight">Height images are decoded to; default <see cref="ImageSize"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The image column is missing or neither text nor bytes.</exception>
    public Microsoft.ML.ITransformer CreateModel(Microsoft.ML.MLContext ml, Microsoft.ML.IDataView input, string imageColumnName = "ImagePath",
        int? decodeWidth = null, int? decodeHeight = null)
    {
        bool bytes = Featurization.SchemaShapes.RequireImage(Featurization.SchemaShapes.FromSchema(input.Schema), imageColumnName);
        return ScoringChain.Build(ml, Export().ToByteArray(), Labels, decodeWidth ?? ImageSize, decodeHeight ?? ImageSize, imageColumnName, bytes,
            "Score", "PredictedLabel", input);
    }

    /// <summary>Class probabilities for decoded images, in batches.</summary>
    public float[][] Predict(ImagePixelStore images, int batchSize = 64)
    {
        Body.eval();
        Head.eval();
        var transforms = new BatchTransforms(ImageSize, Normalization);
        var result = new float[images.Count][];
        using var _ = torch.no_grad();
        for (int start = 0; start < images.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            int n = Math.Min(batchSize, images.Count - start);
            var x = transforms.ToInput(images.Batch([.. Enumerable.Range(start, n)]));
            var p = nn.functional.softmax(Head.forward(Body.forward(x).flatten(1)), 1).data<float>().ToArray();
            for (int i = 0; i < n; i++) result[start + i] = p[(i * Labels.Count)..((i + 1) * Labels.Count)];
        }
        return result;
    }

    /// <summary>
    /// Saves what is needed to rebuild the network (for Grad-CAM and inspection): <c>network.json</c> (strategy, backbone,
    /// head, sizes, labels, normalization) and the weights (<c>network-body.bin</c>, <c>network-head.bin</c>).
    /// </summary>
    public void Save(string folder, TransferLearningOptions options)
    {
        Directory.CreateDirectory(folder);
        SaveAtomically(Body, Path.Combine(folder, "network-body.bin"));
        SaveAtomically(Head, Path.Combine(folder, "network-head.bin"));
        var info = new NetworkInfo(options.Strategy, options.Strategy == TransferStrategy.Scratch ? null : options.Backbone.Name,
            options.Strategy == TransferStrategy.Scratch ? null : options.Backbone.Asset.RelativePath, options.Backbone.Embedding.TensorName,
            options.Head, options.DropoutRate, options.Seed, ImageSize, Mean, Std, [.. Labels])
        {
            ChannelOrder = Normalization.ChannelOrder, PixelScale = Normalization.PixelScale, HasMeanImage = Normalization.MeanImage is not null,
        };
        IO.AtomicFile.WriteAllText(Path.Combine(folder, "network.json"), System.Text.Json.JsonSerializer.Serialize(info));
    }

    // TorchSharp writes in place; a temp file renamed over the target keeps the old weights whole until the new ones are.
    private static void SaveAtomically(TorchSharp.torch.nn.Module module, string path)
    {
        IO.AtomicFile.RemoveStaleTemps(path);
        var temp = IO.AtomicFile.TempPathFor(path);
        try
        {
            module.save(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Rebuilds a network saved by <see cref="Save"/> (the backbone file is resolved again through <paramref name="assets"/>).</summary>
    /// <exception cref="FileNotFoundException">No network.json in the folder (e.g. a linear-probe model).</exception>
    public static TrainedNetwork Load(string folder, Backbones.AssetResolver assets)
    {
        var file = Path.Combine(folder, "network.json");
        if (!File.Exists(file))
            throw new FileNotFoundException($"{file}: no TorchSharp network here; Grad-CAM needs a model trained with --strategy head|partial|full|scratch.", file);
        var info = System.Text.Json.JsonSerializer.Deserialize<NetworkInfo>(File.ReadAllText(file))
            ?? throw new InvalidDataException($"{file}: unreadable.");
        var normalization = new ImageNormalization(info.Mean, info.Std) { ChannelOrder = info.ChannelOrder, PixelScale = info.PixelScale };
        var backbone = info.Strategy == TransferStrategy.Scratch ? Backbones.BackboneCatalog.MobileNetV2Int8 // not read for the scratch CNN
            : info.BackboneName is { } name && Backbones.BackboneCatalog.All.FirstOrDefault(b => b.Name == name) is { } known ? known
            : Backbones.BackboneCatalog.FromOnnxFile(info.BackbonePath!, info.EmbeddingTensor);
        var (body, width) = NetworkBuilder.Body(info.Strategy, backbone, assets, info.Seed, info.EmbeddingTensor);
        // The mean image is not copied into network.json: it comes from the backbone's own files again.
        if (info.HasMeanImage) normalization = normalization with { MeanImage = backbone.Normalization(assets).MeanImage, MeanImageSize = backbone.MeanImage?.Size ?? 0 };
        var head = NetworkBuilder.Head(info.Head, width, info.Labels.Length, info.Dropout);
        body.load(Path.Combine(folder, "network-body.bin"));
        head.load(Path.Combine(folder, "network-head.bin"));
        return new TrainedNetwork(body, head, info.Labels, info.ImageSize, normalization.Validate(), [], null);
    }

    private sealed record NetworkInfo(TransferStrategy Strategy, string? BackboneName, string? BackbonePath, string EmbeddingTensor, HeadKind Head,
        double Dropout, int Seed, int ImageSize, float[] Mean, float[] Std, string[] Labels)
    {
        // Absent in files written before channel order and mean images were recorded: those were RGB on [0,1].
        public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;
        public float PixelScale { get; init; } = 1f;
        public bool HasMeanImage { get; init; }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Body.Dispose();
        Head.Dispose();
    }
}
