using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace MLNetTransfer.Training;

/// <summary>
/// Makes ML.NET's own multiclass scorer over a softmax layer trained elsewhere: a
/// <c>MulticlassPredictionTransformer&lt;MaximumEntropyModelParameters&gt;</c> (what <c>LbfgsMaximumEntropy</c> returns),
/// holding the given weights. Its output is exactly ML.NET's: <c>Score</c> a 1-D float vector of class probabilities
/// with the class names as <c>SlotNames</c>, <c>PredictedLabel</c> a key carrying the label's key values; it saves and
/// loads with ML.NET's own code. The constructors are internal to ML.NET, so they are found by reflection; Microsoft.ML
/// 6.0.x is pinned (Directory.Packages.props), and a change there fails here with a message, never with a wrong model.
/// </summary>
internal static class MulticlassLinearModel
{
    private static readonly ConstructorInfo? ParametersConstructor = typeof(MaximumEntropyModelParameters).GetConstructor(
        BindingFlags.Instance | BindingFlags.NonPublic,
        [typeof(IHostEnvironment), typeof(VBuffer<float>[]), typeof(float[]), typeof(int), typeof(int), typeof(string[]), typeof(ModelStatisticsBase)]);

    private static readonly ConstructorInfo? TransformerConstructor = typeof(MulticlassPredictionTransformer<MaximumEntropyModelParameters>).GetConstructor(
        BindingFlags.Instance | BindingFlags.NonPublic,
        [typeof(IHostEnvironment), typeof(MaximumEntropyModelParameters), typeof(DataViewSchema), typeof(string), typeof(string), typeof(string), typeof(string)]);

    /// <summary>
    /// The scorer of softmax(W·x + b). <paramref name="weights"/> holds one row of <paramref name="bias"/>.Length classes ×
    /// the feature width; <paramref name="trainSchema"/> has the feature column (a known-size float vector) and the label
    /// column (a key; its key values become the slot names and the predicted label's values).
    /// </summary>
    /// <exception cref="MissingMemberException">ML.NET's internal constructors changed.</exception>
    public static MulticlassPredictionTransformer<MaximumEntropyModelParameters> Create(IHostEnvironment env, float[][] weights, float[] bias,
        DataViewSchema trainSchema, string featureColumn, string labelColumn, string scoreColumn, string predictedLabelColumn)
    {
        if (ParametersConstructor is null || TransformerConstructor is null)
            throw new MissingMemberException("ML.NET's MaximumEntropyModelParameters or MulticlassPredictionTransformer constructors changed; this MLNetTransfer build needs Microsoft.ML 6.0.x.");
        int classes = bias.Length, width = weights[0].Length;
        var rows = weights.Select(w => new VBuffer<float>(width, (float[])w.Clone())).ToArray();
        var names = ClassNames(trainSchema[labelColumn], classes);
        var parameters = (MaximumEntropyModelParameters)ParametersConstructor.Invoke([env, rows, (float[])bias.Clone(), classes, width, names, null]);
        return (MulticlassPredictionTransformer<MaximumEntropyModelParameters>)TransformerConstructor.Invoke(
            [env, parameters, trainSchema, featureColumn, labelColumn, scoreColumn, predictedLabelColumn]);
    }

    /// <summary>
    /// The step after the scorer: ML.NET's scorer writes only the names Score and PredictedLabel, so other names the caller
    /// asked for become copies of those columns (annotations included), and the originals and <paramref name="drop"/> go.
    /// Fitting it reads no rows.
    /// </summary>
    public static IReadOnlyList<ITransformer> Finish(MLContext ml, IDataView scored, string scoreColumn, string predictedLabelColumn, params string[] drop)
    {
        var dropped = new List<string>(drop);
        IEstimator<ITransformer> finish = new EstimatorChain<ITransformer>();
        foreach (var (wanted, written) in new[] { (scoreColumn, ScoreColumn), (predictedLabelColumn, PredictedLabelColumn) })
            if (wanted != written)
            {
                finish = finish.Append(ml.Transforms.CopyColumns(wanted, written));
                dropped.Add(written);
            }
        return [.. finish.Append(ml.Transforms.DropColumns([.. dropped])).Fit(scored)];
    }

    /// <summary>The score column ML.NET's scorer writes.</summary>
    public const string ScoreColumn = "Score";

    /// <summary>The predicted-label column ML.NET's scorer writes.</summary>
    public const string PredictedLabelColumn = "PredictedLabel";

    /// <summary>The label key's values as text (ML.NET's model summary names classes with them), or null when it has none.</summary>
    private static string[]? ClassNames(DataViewSchema.Column label, int classes)
    {
        if (label.Annotations.Schema.GetColumnOrNull("KeyValues") is not { Type: VectorDataViewType type }) return null;
        var names = new string[classes];
        if (type.ItemType is TextDataViewType)
        {
            VBuffer<ReadOnlyMemory<char>> values = default;
            label.GetKeyValues(ref values);
            var dense = values.DenseValues().ToArray();
            for (int i = 0; i < classes; i++) names[i] = i < dense.Length ? dense[i].ToString() : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return names;
        }
        return null;
    }
}
