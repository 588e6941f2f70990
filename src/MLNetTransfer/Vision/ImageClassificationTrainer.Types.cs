namespace MLNetTransfer.Vision;

public sealed partial class ImageClassificationTrainer
{
    /// <summary>
    /// The pretrained network, by Microsoft.ML.Vision's names. TensorFlow is not used: each member runs a backbone of this
    /// library's catalog through ONNX Runtime, and the mapping is written to <c>mlContext.Log</c> once per trainer
    /// (README, "Coming from Microsoft.ML.Vision", has the table and why).
    /// </summary>
    public enum Architecture
    {
        /// <summary>ResNet-v2-101 in ML.NET; here ResNet-18 (ML.NET's Microsoft.ML.DnnImageFeaturizer.ResNet18 ONNX file).</summary>
        ResnetV2101,
        /// <summary>Inception-v3 in ML.NET; no Inception weights ship here, so ResNet-18 runs in its place.</summary>
        InceptionV3,
        /// <summary>MobileNet-v2 (MobileNetV2 1.0, ImageNet; the ONNX Model Zoo int8 file).</summary>
        MobilenetV2,
        /// <summary>ResNet-v2-50 in ML.NET (its default); here ResNet-18.</summary>
        ResnetV250,
    }

    /// <summary>The metric early stopping watches (on the validation set).</summary>
    public enum EarlyStoppingMetric
    {
        /// <summary>Validation accuracy; higher is better.</summary>
        Accuracy,
        /// <summary>Validation cross-entropy; lower is better.</summary>
        Loss,
    }

    /// <summary>
    /// Stops training when the watched validation metric has not improved by at least <see cref="MinDelta"/> for
    /// <see cref="Patience"/> consecutive epochs: Microsoft.ML.Vision's class, defaults and arithmetic (the best accuracy
    /// starts at 0, the best loss at <see cref="float.MaxValue"/>). As in ML.NET the last epoch's weights are kept when it
    /// stops; <see cref="Options.RestoreBestEpoch"/> keeps the best epoch's instead. Each <c>Fit</c> starts from a fresh
    /// state (ML.NET carries the state of one object over to the next fit that uses it).
    /// </summary>
    public sealed class EarlyStopping
    {
        private float bestMetricValue;
        private int wait;

        /// <summary>Creates the criterion; <paramref name="checkIncreasing"/> follows the metric, as in ML.NET (true for accuracy, false for loss).</summary>
        /// <param name="minDelta">Smallest change that counts as an improvement (its absolute value is used). Default 0.01.</param>
        /// <param name="patience">Epochs without improvement before stopping. Default 20.</param>
        /// <param name="metric">The watched metric. Default accuracy.</param>
        /// <param name="checkIncreasing">Whether the metric should increase; overridden by the metric.</param>
        public EarlyStopping(float minDelta = 0.01f, int patience = 20, EarlyStoppingMetric metric = EarlyStoppingMetric.Accuracy, bool checkIncreasing = true)
        {
            MinDelta = Math.Abs(minDelta);
            Patience = patience;
            Metric = metric;
            CheckIncreasing = metric switch
            {
                EarlyStoppingMetric.Accuracy => true,
                EarlyStoppingMetric.Loss => false,
                _ => checkIncreasing,
            };
            bestMetricValue = CheckIncreasing ? 0f : float.MaxValue;
        }

        /// <summary>Smallest change of the metric that counts as an improvement.</summary>
        public float MinDelta { get; set; }

        /// <summary>Epochs without improvement tolerated before training stops.</summary>
        public int Patience { get; set; }

        /// <summary>True when the metric should increase (accuracy), false when it should decrease (loss).</summary>
        public bool CheckIncreasing { get; set; }

        /// <summary>The watched metric.</summary>
        public EarlyStoppingMetric Metric { get; }

        /// <summary>
        /// Records an epoch's validation metrics and says whether training should stop (ML.NET's rule: a change smaller
        /// than <see cref="MinDelta"/> counts as no improvement; <see cref="Patience"/> such epochs in a row stop).
        /// </summary>
        public bool ShouldStop(TrainMetrics currentMetrics)
        {
            ArgumentNullException.ThrowIfNull(currentMetrics);
            float current = Metric == EarlyStoppingMetric.Accuracy ? currentMetrics.Accuracy : currentMetrics.CrossEntropy;
            float gain = CheckIncreasing ? current - bestMetricValue : bestMetricValue - current;
            if (gain < MinDelta) return ++wait >= Patience;
            wait = 0;
            bestMetricValue = current;
            return false;
        }

        /// <summary>A copy with the same settings and a fresh state, for one fit.</summary>
        internal EarlyStopping Fresh() => new(MinDelta, Patience, Metric, CheckIncreasing);
    }

    /// <summary>Metrics of one epoch on one dataset.</summary>
    public sealed class TrainMetrics
    {
        /// <summary>The dataset the metrics are computed on.</summary>
        public ImageClassificationMetrics.Dataset DatasetUsed { get; set; }

        /// <summary>Batches processed in the epoch.</summary>
        public int BatchProcessedCount { get; set; }

        /// <summary>The 0-based epoch.</summary>
        public int Epoch { get; set; }

        /// <summary>Accuracy over the epoch; higher is better.</summary>
        public float Accuracy { get; set; }

        /// <summary>Mean cross-entropy over the epoch; lower is better.</summary>
        public float CrossEntropy { get; set; }

        /// <summary>Learning rate at the end of the epoch.</summary>
        public float LearningRate { get; set; }

        /// <summary>One line, in ML.NET's format.</summary>
        public override string ToString() => DatasetUsed == ImageClassificationMetrics.Dataset.Train
            ? $"Phase: Training, Dataset used: {DatasetUsed,10}, Batch Processed Count: {BatchProcessedCount,3}, Epoch: {Epoch,3}, Accuracy: {Accuracy,10}, Cross-Entropy: {CrossEntropy,10}, Learning Rate: {LearningRate,10}"
            : $"Phase: Training, Dataset used: {DatasetUsed,10}, Batch Processed Count: {BatchProcessedCount,3}, Epoch: {Epoch,3}, Accuracy: {Accuracy,10}, Cross-Entropy: {CrossEntropy,10}";
    }

    /// <summary>Progress of reading the images before the bottleneck values are computed: one per image.</summary>
    public sealed class BottleneckMetrics
    {
        /// <summary>The dataset the image belongs to.</summary>
        public ImageClassificationMetrics.Dataset DatasetUsed { get; set; }

        /// <summary>0-based index of the image in its dataset.</summary>
        public int Index { get; set; }

        /// <summary>One line, in ML.NET's format.</summary>
        public override string ToString() => $"Phase: Bottleneck Computation, Dataset used: {DatasetUsed,10}, Image Index: {Index,3}";
    }

    /// <summary>What <see cref="Options.MetricsCallback"/> receives: bottleneck progress (Train null) or an epoch's metrics.</summary>
    public sealed class ImageClassificationMetrics
    {
        /// <summary>The dataset metrics are reported on.</summary>
        public enum Dataset
        {
            /// <summary>The training set.</summary>
            Train,
            /// <summary>The validation set.</summary>
            Validation,
        }

        /// <summary>Epoch metrics, or null during the bottleneck phase.</summary>
        public TrainMetrics? Train { get; set; }

        /// <summary>Bottleneck progress, or null during training.</summary>
        public BottleneckMetrics? Bottleneck { get; set; }

        /// <summary>The metrics as one line.</summary>
        public override string ToString() => Train?.ToString() ?? Bottleneck?.ToString() ?? "";
    }
}
