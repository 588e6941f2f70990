using System.Text.Json;
using System.Text.Json.Serialization;
using MLNetTransfer.IO;

namespace MLNetTransfer.Evaluation;

/// <summary>
/// The metrics of one evaluation, in the shape of <c>metrics.json</c>: accuracy, macro F1, log-loss, per-class
/// precision/recall/F1/support, the confusion matrix with its label order, and timing.
/// </summary>
public sealed class ClassificationReport
{
    /// <summary>Fraction of images whose predicted label is the true one (micro accuracy).</summary>
    [JsonPropertyName("accuracy")] public double Accuracy { get; init; }

    /// <summary>Mean of the per-class F1 scores.</summary>
    [JsonPropertyName("macroF1")] public double MacroF1 { get; init; }

    /// <summary>Mean of per-class accuracies (recall), ML.NET's macro accuracy.</summary>
    [JsonPropertyName("macroAccuracy")] public double MacroAccuracy { get; init; }

    /// <summary>Mean negative log-likelihood of the true class (natural log).</summary>
    [JsonPropertyName("logLoss")] public double LogLoss { get; init; }

    /// <summary>Per-class metrics keyed by label.</summary>
    [JsonPropertyName("perClass")] public IReadOnlyDictionary<string, ClassMetrics> PerClass { get; init; } = new Dictionary<string, ClassMetrics>();

    /// <summary>The confusion matrix: rows are true labels, columns predicted labels, in <see cref="Labels"/> order.</summary>
    [JsonPropertyName("confusion")] public ConfusionMatrixData Confusion { get; init; } = new([], []);

    /// <summary>Seconds spent training (featurization included), or 0 when not measured.</summary>
    [JsonPropertyName("trainSeconds")] public double TrainSeconds { get; set; }

    /// <summary>Images per second through the whole scoring pipeline on the evaluated set.</summary>
    [JsonPropertyName("imagesPerSecond")] public double ImagesPerSecond { get; set; }

    /// <summary>Number of evaluated images.</summary>
    [JsonPropertyName("count")] public int Count { get; init; }

    /// <summary>The test images predicted wrongly with the highest confidence (for the report's grid), most confident first.</summary>
    [JsonPropertyName("confidentlyWrong")] public List<WrongPrediction> ConfidentlyWrong { get; init; } = [];

    /// <summary>Free-form context: backbone, trainer, strategy, dataset sizes, seed.</summary>
    [JsonPropertyName("details")] public Dictionary<string, string> Details { get; init; } = [];

    /// <summary>Label order of the confusion matrix.</summary>
    [JsonIgnore] public IReadOnlyList<string> Labels => Confusion.Labels;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The headline in one line, e.g. "accuracy 59.50 %, macro F1 0.5942, 200 images".</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"accuracy {Accuracy:P2}, macro F1 {MacroF1:F4}, {Count} images");

    /// <summary>Serializes to indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Writes <c>metrics.json</c> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a report written by <see cref="Save"/>.</summary>
    public static ClassificationReport Load(string path) =>
        JsonSerializer.Deserialize<ClassificationReport>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"{path}: not a metrics file.");

    /// <summary>
    /// Builds a report from true and predicted class indices plus the probability of the true class per image.
    /// </summary>
    /// <param name="labels">Class names in index order.</param>
    /// <param name="truth">True class index per image.</param>
    /// <param name="predicted">Predicted class index per image.</param>
    /// <param name="trueClassProbability">Predicted probability of the true class per image (for log-loss), or null.</param>
    public static ClassificationReport FromPredictions(IReadOnlyList<string> labels, IReadOnlyList<int> truth,
        IReadOnlyList<int> predicted, IReadOnlyList<float>? trueClassProbability = null)
    {
        if (truth.Count != predicted.Count)
            throw new ArgumentException($"{truth.Count} true labels but {predicted.Count} predictions.");
        int k = labels.Count;
        var counts = new int[k][];
        for (int i = 0; i < k; i++) counts[i] = new int[k];
        for (int i = 0; i < truth.Count; i++)
        {
            if ((uint)truth[i] >= k || (uint)predicted[i] >= k)
                throw new ArgumentOutOfRangeException(nameof(truth), $"Row {i}: class index outside 0..{k - 1}.");
            counts[truth[i]][predicted[i]]++;
        }

        var perClass = new Dictionary<string, ClassMetrics>();
        double f1Sum = 0, recallSum = 0; int present = 0;
        for (int c = 0; c < k; c++)
        {
            int tp = counts[c][c];
            int support = counts[c].Sum();
            int predictedAs = 0;
            for (int r = 0; r < k; r++) predictedAs += counts[r][c];
            double precision = predictedAs == 0 ? 0 : (double)tp / predictedAs;
            double recall = support == 0 ? 0 : (double)tp / support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass[labels[c]] = new ClassMetrics(precision, recall, f1, support);
            if (support > 0) { f1Sum += f1; recallSum += recall; present++; }
        }

        int correct = 0;
        for (int i = 0; i < truth.Count; i++) if (truth[i] == predicted[i]) correct++;
        double logLoss = double.NaN;
        if (trueClassProbability is not null && trueClassProbability.Count > 0)
        {
            // Clip like ML.NET and scikit-learn so a confident miss costs a large but finite amount.
            const double eps = 1e-15;
            logLoss = trueClassProbability.Average(p => -Math.Log(Math.Clamp(p, eps, 1 - eps)));
        }

        return new ClassificationReport
        {
            Accuracy = truth.Count == 0 ? 0 : (double)correct / truth.Count,
            MacroF1 = present == 0 ? 0 : f1Sum / present,
            MacroAccuracy = present == 0 ? 0 : recallSum / present,
            LogLoss = logLoss,
            PerClass = perClass,
            Confusion = new ConfusionMatrixData([.. labels], counts),
            Count = truth.Count,
        };
    }
}

/// <summary>A test image the model got wrong.</summary>
/// <param name="Path">The image file.</param>
/// <param name="TrueLabel">Its class.</param>
/// <param name="PredictedLabel">The class predicted.</param>
/// <param name="Probability">The predicted class's probability.</param>
public sealed record WrongPrediction(string Path, string TrueLabel, string PredictedLabel, float Probability);

/// <summary>A confusion matrix: <see cref="Counts"/>[true][predicted] in <see cref="Labels"/> order.</summary>
/// <param name="Labels">Class names, the order of rows and columns.</param>
/// <param name="Counts">Counts per (true, predicted) pair.</param>
public sealed record ConfusionMatrixData(
    [property: JsonPropertyName("labels")] string[] Labels,
    [property: JsonPropertyName("counts")] int[][] Counts)
{
    /// <summary>A fixed-width text table, true labels down, predicted across.</summary>
    public string ToText()
    {
        int w = Math.Max(5, Math.Max(Labels.DefaultIfEmpty("").Max(l => l.Length), Counts.SelectMany(r => r).DefaultIfEmpty(0).Max().ToString().Length) + 1);
        var sb = new System.Text.StringBuilder();
        sb.Append("true \\ pred".PadRight(w + 2));
        foreach (var l in Labels) sb.Append(Truncate(l, w).PadLeft(w + 1));
        sb.AppendLine();
        for (int r = 0; r < Labels.Length; r++)
        {
            sb.Append(Truncate(Labels[r], w + 2).PadRight(w + 2));
            foreach (var v in Counts[r]) sb.Append(v.ToString().PadLeft(w + 1));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n];
}
