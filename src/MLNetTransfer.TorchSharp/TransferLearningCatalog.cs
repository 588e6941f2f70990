using MLNetTransfer.Hosting;
using Microsoft.ML;

namespace MLNetTransfer;

/// <summary>The TransferLearning trainer on <c>mlContext.MulticlassClassification.Trainers</c>.</summary>
public static class TransferLearningCatalog
{
    /// <summary>
    /// Fine-tunes a pretrained backbone (or trains the scratch CNN) on an image column (paths or encoded bytes) and a key
    /// label. Progress goes to <c>mlContext.Log</c>; <c>mlContext.CancelExecution()</c> stops training.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public static Training.TransferLearningTrainer TransferLearning(this MulticlassClassificationCatalog.MulticlassClassificationTrainers trainers,
        Training.TransferLearningOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        return new Training.TransferLearningTrainer(options ?? new Training.TransferLearningOptions(), MLNetEnvironment.Of(trainers));
    }
}
