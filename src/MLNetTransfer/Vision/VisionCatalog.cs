using MLNetTransfer.Hosting;
using Microsoft.ML;

namespace MLNetTransfer.Vision;

/// <summary>
/// Microsoft.ML.Vision's catalog methods on <c>mlContext.MulticlassClassification.Trainers</c>, same names and parameters.
/// The trainer uses the caller's MLContext: its seed, its log (<c>mlContext.Log</c>) and <c>mlContext.CancelExecution()</c>.
/// </summary>
public static class VisionCatalog
{
    /// <summary>Creates the trainer with every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range, or <c>Arch</c> has no weights here; the message names it.</exception>
    public static ImageClassificationTrainer ImageClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ImageClassificationTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ImageClassificationTrainer(MLNetEnvironment.Of(catalog), options);
    }

    /// <summary>Creates the trainer with ML.NET's defaults (ResNet architecture, 200 epochs with early stopping, batch 10).</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">The label column (key). Default <c>Label</c>.</param>
    /// <param name="featureColumnName">The encoded-image column (vector of bytes). Default <c>Features</c>.</param>
    /// <param name="scoreColumnName">The score column produced. Default <c>Score</c>.</param>
    /// <param name="predictedLabelColumnName">The predicted-label column produced. Default <c>PredictedLabel</c>.</param>
    /// <param name="validationSet">Validation data; null holds out 10% of the training data.</param>
    public static ImageClassificationTrainer ImageClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel", IDataView? validationSet = null) =>
        catalog.ImageClassification(new ImageClassificationTrainer.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = predictedLabelColumnName,
            ValidationSet = validationSet,
        });
}
