using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Onnx;

namespace MLNetTransfer.Featurization;

/// <summary>
/// The fitted featurizer. <see cref="Transform"/> streams: images are decoded by ML.NET ImageAnalytics on a
/// background thread while ONNX Runtime scores the previous batch, and at most two batches are held in memory.
/// For saving, row-by-row scoring and <c>PredictionEngine</c> it is exactly ML.NET's own chain
/// (LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel; for an encoded-bytes column a CustomMapping of this library
/// decodes instead of LoadImages), so <c>mlContext.Model.Save/Load</c> works in a new process: a loaded model is that chain
/// and gives the same embeddings, one row at a time, and takes the same kind of image column.
/// </summary>
public sealed class FeaturizeImageTransformer : ITransformer, ICanSaveModel, IDisposable
{
    internal const string ImageColumn = "__mlnt_image";
    internal const string PixelColumn = FeaturizerGraph.InputName;

    private readonly ITransformer decodeChain;
    private readonly ITransformer fullChain;
    private readonly Lazy<OnnxBatchRunner> runner;

    internal FeaturizeImageTransformer(MLContext ml, FeaturizeImageOptions options, byte[] graph, int decodeWidth, int decodeHeight, int networkSize,
        bool bytesInput = false)
    {
        Options = options;
        Graph = graph;
        DecodeWidth = decodeWidth;
        DecodeHeight = decodeHeight;
        NetworkSize = networkSize;
        BytesInput = bytesInput;
        runner = new(() => new OnnxBatchRunner(Graph, options.Threads, options.SessionCount));
        // Fitting ML.NET's estimators reads no rows: an empty view with the input column is enough.
        var definition = SchemaDefinition.Create(bytesInput ? typeof(BytesRow) : typeof(PathRow));
        definition[0].ColumnName = options.InputColumnName;
        var empty = bytesInput ? ml.Data.LoadFromEnumerable(Array.Empty<BytesRow>(), definition) : ml.Data.LoadFromEnumerable(Array.Empty<PathRow>(), definition);
        // Bytes are decoded by a CustomMapping into ML.NET's image type, so the saved chain is the path chain's twin.
        var decode = EncodedImageDecoder.Decode(ml, options.InputColumnName, bytesInput, ImageColumn, options.ImageFolder)
            .Append(ml.Transforms.ResizeImages(ImageColumn, decodeWidth, decodeHeight, ImageColumn))
            .Append(ml.Transforms.ExtractPixels(PixelColumn, ImageColumn, scaleImage: 1f / 255));
        decodeChain = decode.Fit(empty);
        var scoring = OnnxGraphFiles.ApplyOnnxModel(ml, [options.OutputColumnName], [PixelColumn], graph,
                new Dictionary<string, int[]> { [FeaturizerGraph.InputName] = [1, 3, decodeHeight, decodeWidth] })
            .Append(ml.Transforms.DropColumns(ImageColumn, PixelColumn));
        fullChain = ((ITransformer)decodeChain).Append(scoring.Fit(decodeChain.Transform(empty)));
    }

    /// <summary>True when the input column holds encoded image bytes rather than paths.</summary>
    public bool BytesInput { get; }

    /// <summary>The options it was fitted with.</summary>
    public FeaturizeImageOptions Options { get; }

    /// <summary>The featurizer ONNX graph: float pixels [N,3,H,W] in [0,1] → embedding [N,D].</summary>
    public byte[] Graph { get; }

    /// <summary>Width images are decoded to before the graph resizes them to <see cref="NetworkSize"/>.</summary>
    public int DecodeWidth { get; }

    /// <summary>Height images are decoded to.</summary>
    public int DecodeHeight { get; }

    /// <summary>Side of the square image the network sees.</summary>
    public int NetworkSize { get; }

    /// <summary>The ML.NET chain used for saving and row-by-row scoring.</summary>
    public ITransformer MlNetChain => fullChain;

    internal ITransformer DecodeChain => decodeChain;

    internal OnnxBatchRunner Runner => runner.Value;

    /// <summary>True: the ML.NET chain maps row to row (for <c>PredictionEngine</c>).</summary>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => fullChain.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => fullChain.GetRowToRowMapper(inputSchema);

    /// <summary>Lazily featurizes <paramref name="input"/> in batches; nothing runs until a cursor reads.</summary>
    public IDataView Transform(IDataView input) => new FeaturizedDataView(this, input);

    /// <summary>Saves the equivalent ML.NET chain (the ONNX graph bytes are embedded in the model zip).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)fullChain).Save(ctx);

    /// <summary>
    /// Releases the ONNX Runtime sessions and deletes the graph's copy in the temp folder (the transformer cannot be saved
    /// afterwards). Undisposed, the copy goes when the transformer is garbage-collected or the process exits.
    /// </summary>
    public void Dispose()
    {
        if (runner.IsValueCreated) runner.Value.Dispose();
        OnnxGraphFiles.Dispose(fullChain);
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }

    private sealed class BytesRow { public byte[] Image { get; set; } = []; }
}
