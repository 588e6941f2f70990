using MLNetTransfer.Hosting;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransfer.Featurization;

/// <summary>
/// ML.NET estimator: image paths in, a frozen pretrained backbone's embedding out (the "intermediate output"
/// strategy). Fitting reads no data beyond a few image headers; it prepares the ONNX graph (embedding exposed,
/// normalization and resize inside the graph). Create it with
/// <see cref="FeaturizationCatalog.FeaturizeImage(TransformsCatalog, string, string, Backbones.BackboneInfo?)"/>.
/// </summary>
public sealed class FeaturizeImageEstimator : IEstimator<FeaturizeImageTransformer>
{
    private readonly MLContext ml;
    private readonly FeaturizeImageOptions options;

    /// <summary>Creates the estimator; see <see cref="FeaturizeImageOptions"/> for defaults.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    /// <exception cref="ArgumentException">A column name is empty, or the backbone is missing.</exception>
    public FeaturizeImageEstimator(MLContext ml, FeaturizeImageOptions options)
    {
        this.ml = ml ?? throw new ArgumentNullException(nameof(ml));
        this.options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
    }

    /// <summary>
    /// The estimator for the caller of a catalog: its ML.NET transforms get a context seeded like the caller's, with the
    /// caller's temp path (ML.NET keeps the environment internal, so the caller's own context cannot be passed on).
    /// </summary>
    internal static FeaturizeImageEstimator For(TransformsCatalog catalog, FeaturizeImageOptions options)
    {
        var env = MLNetEnvironment.Of(catalog);
        return new(env.NewContext(env.Seed), options);
    }

    /// <summary>Validates the schema, chooses the decode size, and builds the featurizer graph.</summary>
    public FeaturizeImageTransformer Fit(IDataView input)
    {
        GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
        bool bytes = SchemaShapes.RequireImage(SchemaShapes.FromSchema(input.Schema), options.InputColumnName);
        int network = options.Backbone.NetworkSizeFor(options.NetworkSize ?? options.Backbone.InputSize);
        var decode = options.DecodeSize ?? ChooseDecodeSize(input, network, bytes);
        var graph = FeaturizerGraph.Build(options.Backbone, options.Assets, network, options.OutputColumnName, options.FlipAverage);
        return new FeaturizeImageTransformer(ml, options, graph, decode.Width, decode.Height, network, bytes);
    }

    /// <summary>Input: the image column (path text, or encoded bytes). Output: adds the embedding, a known-size float vector.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.RequireImage(inputSchema, options.InputColumnName);
        int dim = options.Backbone.Embedding.Dimension;
        if (dim <= 0) throw new InvalidOperationException($"Backbone '{options.Backbone.Name}': the embedding width is unknown; set it in the catalog entry.");
        return SchemaShapes.WithFloatVector(inputSchema, options.OutputColumnName, dim);
    }

    private (int Width, int Height) ChooseDecodeSize(IDataView input, int network, bool bytes) => bytes
        ? DecodeSize.ForEncoded(input.GetColumn<byte[]>(options.InputColumnName), network)
        : DecodeSize.ForFiles(input.GetColumn<string>(options.InputColumnName)
            .Select(path => options.ImageFolder is null ? path : Path.Combine(options.ImageFolder, path)), network);
}
