using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Training;

namespace MLNetTransfer.Vision;

/// <summary>
/// What <see cref="ImageClassificationTrainer.Fit(IDataView)"/> returns: a plain ML.NET chain — the frozen network as an
/// ONNX featurizer (encoded image bytes → bottleneck values), then ML.NET's own multiclass scorer over the trained softmax
/// layer (<c>Score</c>: class probabilities with the class names as slot names; <c>PredictedLabel</c>: a key with the
/// label's values). <c>mlContext.Model.Save</c> writes that chain; a loaded model scores the same. The training
/// record (<see cref="History"/>, <see cref="SkippedImages"/>) is not saved.
/// </summary>
public sealed class ImageClassificationTransformer : ITransformer, ICanSaveModel, IDisposable
{
    private readonly TransformerChain<ITransformer> chain;
    private readonly FeaturizeImageTransformer featurizer;

    internal ImageClassificationTransformer(TransformerChain<ITransformer> chain, FeaturizeImageTransformer featurizer,
        IReadOnlyList<EpochMetrics> history, IReadOnlyList<string> skippedImages, string backbone)
    {
        this.chain = chain;
        this.featurizer = featurizer;
        History = history;
        SkippedImages = skippedImages;
        Backbone = backbone;
    }

    /// <summary>Per-epoch metrics of training (validation values NaN without validation data).</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>One line per image left out of training or validation because it could not be decoded (or had no label).</summary>
    public IReadOnlyList<string> SkippedImages { get; }

    /// <summary>The catalog name of the backbone that ran (see <see cref="ImageClassificationTrainer.Architecture"/>).</summary>
    public string Backbone { get; }

    /// <summary>True: the chain maps row to row (for <c>PredictionEngine</c>).</summary>
    public bool IsRowToRowMapper => ((ITransformer)chain).IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => chain.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)chain).GetRowToRowMapper(inputSchema);

    /// <summary>Scores <paramref name="input"/>; an image that cannot be decoded fails with a message naming its row.</summary>
    public IDataView Transform(IDataView input) => chain.Transform(input);

    /// <summary>Saves the chain (the ONNX featurizer is embedded in the model zip).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)chain).Save(ctx);

    /// <summary>Releases the featurizer's ONNX Runtime sessions and its temporary graph file.</summary>
    public void Dispose() => featurizer.Dispose();
}
