namespace MLNetTransfer.Training;

/// <summary>The metrics of one epoch.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Phase">"warmup", "train" or "finetune".</param>
/// <param name="TrainLoss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy on the (augmented) batches seen.</param>
/// <param name="ValidationLoss">Validation loss (NaN without validation data).</param>
/// <param name="ValidationAccuracy">Validation accuracy (NaN without validation data).</param>
/// <param name="LearningRate">Head learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch.</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
public sealed record EpochMetrics(int Epoch, string Phase, double TrainLoss, double TrainAccuracy, double ValidationLoss,
    double ValidationAccuracy, double LearningRate, double Seconds, double ImagesPerSecond);
