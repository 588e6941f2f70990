using Microsoft.ML;
using Microsoft.ML.Trainers;
using MLNetTransfer.Backbones;

namespace MLNetTransfer.Vision;

public sealed partial class ImageClassificationTrainer
{
    /// <summary>
    /// Options of <see cref="ImageClassificationTrainer"/>: every option of Microsoft.ML.Vision's, same names, defaults and
    /// meaning, plus <see cref="Assets"/> and <see cref="ImageSize"/>. Where the behaviour differs the member says how.
    /// Checked once, when the trainer is created; a bad value throws naming the option.
    /// </summary>
    public sealed class Options
    {
        /// <summary>The encoded-image column (<c>VBuffer&lt;byte&gt;</c> from LoadRawImageBytes, or <c>byte[]</c> in a class). Default <c>Features</c>.</summary>
        public string FeatureColumnName = "Features";

        /// <summary>The label column, a key (MapValueToKey). Default <c>Label</c>.</summary>
        public string LabelColumnName = "Label";

        /// <summary>The score column produced: class probabilities (sum 1) in key order, a known-size vector. Default <c>Score</c>.</summary>
        public string ScoreColumnName = "Score";

        /// <summary>The predicted label column produced: a key of the label's key type. Default <c>PredictedLabel</c>.</summary>
        public string PredictedLabelColumnName = "PredictedLabel";

        /// <summary>Images per mini-batch. Default 10.</summary>
        public int BatchSize = 10;

        /// <summary>Training epochs. Default 200 (early stopping usually ends sooner).</summary>
        public int Epoch = 200;

        /// <summary>Learning rate of gradient descent when <see cref="LearningRateScheduler"/> is null (as in ML.NET, a scheduler sets the rate itself). Default 0.01.</summary>
        public float LearningRate = 0.01f;

        /// <summary>
        /// Early stopping on the validation metric; null trains all epochs. Default on: accuracy, patience 20, minimum delta
        /// 0.01. As in ML.NET, the last epoch's weights are kept when it stops (see <see cref="RestoreBestEpoch"/>).
        /// </summary>
        public EarlyStopping? EarlyStoppingCriteria = new();

        /// <summary>The pretrained network. Default <see cref="Architecture.ResnetV250"/> (here ResNet-18; see <see cref="Architecture"/>).</summary>
        public Architecture Arch = Architecture.ResnetV250;

        /// <summary>Not applicable: ML.NET names its TensorFlow checkpoint files with it; no such files are written here. Default <c>custom_retrained_model_based_on_</c>.</summary>
        public string FinalModelPrefix = "custom_retrained_model_based_on_";

        /// <summary>
        /// Called with bottleneck progress (one call per image featurized; an image that cannot be decoded is skipped
        /// without a call, as in ML.NET) and, each epoch, with the training metrics (when <see cref="TestOnTrainSet"/>; the
        /// mean over the epoch's batches, each measured before its update) and then the validation metrics. Default null;
        /// progress and skipped images are always also written to <c>mlContext.Log</c>.
        /// </summary>
        public Action<ImageClassificationMetrics>? MetricsCallback;

        /// <summary>
        /// Folder for the bottleneck caches (<see cref="TrainSetBottleneckCachedValuesFileName"/>,
        /// <see cref="ValidationSetBottleneckCachedValuesFileName"/>). Default null: a temporary folder, deleted after training.
        /// </summary>
        public string? WorkspacePath;

        /// <summary>Report training-set metrics to <see cref="MetricsCallback"/> every epoch. Default true.</summary>
        public bool TestOnTrainSet = true;

        /// <summary>
        /// Reuse training-set bottleneck values found in <see cref="WorkspacePath"/>. Default false. Differs: reuse happens only
        /// when the cached file was made from the same images with the same backbone (checked), so a stale cache is never
        /// used; otherwise the values are computed again and the file replaced.
        /// </summary>
        public bool ReuseTrainSetBottleneckCachedValues;

        /// <summary>As <see cref="ReuseTrainSetBottleneckCachedValues"/>, for the validation set. Default false.</summary>
        public bool ReuseValidationSetBottleneckCachedValues;

        /// <summary>The validation set (same columns as the training data). Default null: <see cref="ValidationSetFraction"/> of the training set.</summary>
        public IDataView? ValidationSet;

        /// <summary>Fraction of the training set held out for validation when <see cref="ValidationSet"/> is null; null for none. In (0, 1). Default 0.1.</summary>
        public float? ValidationSetFraction = 0.1f;

        /// <summary>
        /// File name, in <see cref="WorkspacePath"/>, of the training set's bottleneck values: one line per image, the
        /// 0-based class then the values, comma-separated (as ML.NET writes it), after a header line that identifies the
        /// images and backbone. Default <c>trainSetBottleneckFile.csv</c>.
        /// </summary>
        public string TrainSetBottleneckCachedValuesFileName = "trainSetBottleneckFile.csv";

        /// <summary>As <see cref="TrainSetBottleneckCachedValuesFileName"/>, for the validation set. Default <c>validationSetBottleneckFile.csv</c>.</summary>
        public string ValidationSetBottleneckCachedValuesFileName = "validationSetBottleneckFile.csv";

        /// <summary>ML.NET's learning-rate schedulers (ExponentialLRDecay, PolynomialLRDecay, LsrDecay), applied per batch exactly as ML.NET does. Default <c>new ExponentialLRDecay()</c>.</summary>
        public LearningRateScheduler? LearningRateScheduler = new ExponentialLRDecay();

        /// <summary>Not in ML.NET: where backbone files are found. Default <c>$MLNETTRANSFER_ASSETS</c>, then the user cache.</summary>
        public AssetResolver Assets = AssetResolver.Default;

        /// <summary>Not in ML.NET: side of the square image the network sees. Default null: the backbone's own size (224).</summary>
        public int? ImageSize;

        /// <summary>
        /// Not in ML.NET: when early stopping ends training, keep the weights of the epoch with the best validation metric
        /// instead of the last epoch's. Default false (ML.NET's behaviour). Worth turning on when the validation set is
        /// large enough for its metric to be trusted (a few hundred images); on a handful it picks noise.
        /// </summary>
        public bool RestoreBestEpoch;

        /// <summary>For measurements only: runs this catalog backbone instead of <see cref="Arch"/>'s (null: the mapping).</summary>
        internal BackboneInfo? BackboneOverride;

        /// <summary>For measurements only: standardize the bottleneck values before training (null: the default).</summary>
        internal bool? StandardizeOverride;
    }
}
