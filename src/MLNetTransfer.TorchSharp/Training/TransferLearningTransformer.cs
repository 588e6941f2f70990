using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Onnx;

namespace MLNetTransfer.Training;

/// <summary>
/// What <see cref="TransferLearningTrainer.Fit"/> returns: the ML.NET scoring chain (decode → resize → pixels → the exported
/// network up to its final layer → ML.NET's multiclass scorer holding that layer: <c>Score</c> with the class names as slot
/// names, <c>PredictedLabel</c>) together with the <see cref="Run"/> that produced it. In a pipeline it is
/// <c>model.LastTransformer</c> when the trainer is the last step, or found by type among a <c>TransformerChain</c>'s
/// transformers. <c>mlContext.Model.Save</c> writes the scoring chain alone: a loaded model scores the same but is that
/// chain, without <see cref="Run"/> (save the network with <see cref="TrainedNetwork.Save"/> or
/// <see cref="TrainingRun.Onnx"/> to keep it).
/// </summary>
public sealed class TransferLearningTransformer : ITransformer, ICanSaveModel, IDisposable
{
    internal TransferLearningTransformer(ITransformer scoringChain, TrainingRun run)
    {
        ScoringChain = scoringChain;
        Run = run;
    }

    /// <summary>The fitted ML.NET chain that scores (what is saved).</summary>
    public ITransformer ScoringChain { get; }

    /// <summary>The training run: the network, its ONNX export, the epoch history. Not saved by <c>Model.Save</c>.</summary>
    public TrainingRun Run { get; }

    /// <summary>True: the chain maps row to row (for <c>PredictionEngine</c>).</summary>
    public bool IsRowToRowMapper => ScoringChain.IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => ScoringChain.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ScoringChain.GetRowToRowMapper(inputSchema);

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => ScoringChain.Transform(input);

    /// <summary>Saves the scoring chain (the ONNX network is embedded in the model zip); <see cref="Run"/> is not saved.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)ScoringChain).Save(ctx);

    /// <summary>
    /// Releases the scoring chain's ONNX Runtime session and deletes its copy of the network from the temp folder (the chain
    /// cannot be saved afterwards); <see cref="TrainingRun.Network"/> stays usable (dispose it on its own).
    /// </summary>
    public void Dispose() => OnnxGraphFiles.Dispose(ScoringChain);
}

/// <summary>What a fine-tuning fit produced besides the ML.NET chain (kept in memory; not part of a saved model).</summary>
/// <param name="Network">The trained TorchSharp network.</param>
/// <param name="Onnx">Its ONNX export (what the ML.NET chain runs; <c>Onnx.ToByteArray()</c> gives the bytes).</param>
/// <param name="TrainSeconds">Wall time of training (decoding excluded).</param>
/// <param name="DecodeWidth">Width images are decoded to before the graph.</param>
/// <param name="DecodeHeight">Height images are decoded to.</param>
public sealed record TrainingRun(TrainedNetwork Network, OnnxModel Onnx, double TrainSeconds, int DecodeWidth, int DecodeHeight)
{
    /// <summary>Per-epoch metrics (<see cref="TrainedNetwork.History"/>).</summary>
    public IReadOnlyList<EpochMetrics> History => Network.History;

    /// <summary>Why training ended before the last epoch (early stopping, NaN loss), or null.</summary>
    public string? StopReason => Network.StopReason;
}
