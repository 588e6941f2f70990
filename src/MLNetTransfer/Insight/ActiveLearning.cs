using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.IO;
using ScottPlot;

namespace MLNetTransfer.Insight;

/// <summary>Options of <see cref="ActiveLearning.Run"/>.</summary>
public sealed record ActiveLearningOptions
{
    /// <summary>Labelled images per class at the start (seeded). Default 5.</summary>
    public int InitialPerClass { get; init; } = 5;
    /// <summary>Images queried per round. Default 50.</summary>
    public int QueryPerRound { get; init; } = 50;
    /// <summary>Rounds after the initial fit. Default 10.</summary>
    public int Rounds { get; init; } = 10;
    /// <summary>Uncertainty measure. Default margin (on CIFAR-10 features it beat entropy at every round: docs/benchmarks.md).</summary>
    public UncertaintyMeasure Measure { get; init; } = UncertaintyMeasure.Margin;
    /// <summary>
    /// Diversity: shortlist this many times <see cref="QueryPerRound"/> most uncertain images, cluster them and ask for the
    /// most uncertain of each cluster (<see cref="DiverseSampling"/>). 1 = plain uncertainty sampling. Default 1.
    /// </summary>
    public int DiversityFactor { get; init; } = 1;
    /// <summary>Seed of the initial set and of random sampling. Default 1.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>One round: how many labels each strategy had and the test accuracy it reached.</summary>
/// <param name="Round">0 = the initial set.</param>
/// <param name="Labeled">Labelled images (same for both strategies).</param>
/// <param name="UncertaintyAccuracy">Test accuracy with uncertainty sampling.</param>
/// <param name="RandomAccuracy">Test accuracy with random sampling.</param>
/// <param name="Queried">Pool indices uncertainty sampling asked for after this round.</param>
public sealed record ActiveLearningRound(int Round, int Labeled, double UncertaintyAccuracy, double RandomAccuracy, IReadOnlyList<int> Queried);

/// <summary>
/// Pool-based active learning on frozen embeddings: start with a few labels per class, train L-BFGS logistic regression,
/// ask for the most uncertain pool images, retrain, and compare with asking for random ones.
/// </summary>
public static class ActiveLearning
{
    /// <summary>Runs both strategies from the same initial set.</summary>
    public static IReadOnlyList<ActiveLearningRound> Run(IReadOnlyList<float[]> pool, int[] poolLabels, IReadOnlyList<float[]> test, int[] testLabels,
        ActiveLearningOptions? options = null)
    {
        options ??= new();
        int classes = poolLabels.Concat(testLabels).Max() + 1;
        var initial = Data.Stratified.Sample([.. Enumerable.Range(0, pool.Count)], i => poolLabels[i].ToString(), options.InitialPerClass, options.Seed);
        var uncertain = new HashSet<int>(initial);
        var random = new HashSet<int>(initial);
        var rng = new Random(options.Seed);
        var rounds = new List<ActiveLearningRound>();
        var ml = new MLContext(options.Seed);
        for (int round = 0; round <= options.Rounds; round++)
        {
            var (uModel, uAccuracy) = Fit(ml, pool, poolLabels, uncertain, test, testLabels, classes);
            var (_, rAccuracy) = Fit(ml, pool, poolLabels, random, test, testLabels, classes);
            var queried = new List<int>();
            if (round < options.Rounds)
            {
                var candidates = Enumerable.Range(0, pool.Count).Where(i => !uncertain.Contains(i)).ToList();
                var probabilities = Predict(ml, uModel, [.. candidates.Select(i => pool[i])], classes);
                var picks = DiverseSampling.Select(probabilities, [.. candidates.Select(i => pool[i])], options.QueryPerRound, options.Measure,
                    options.DiversityFactor, options.Seed + round);
                queried = [.. picks.Select(j => candidates[j])];
                foreach (var q in queried)
                    if (!uncertain.Add(q)) throw new InvalidOperationException($"pool image {q} was queried twice");
                var unlabeled = Enumerable.Range(0, pool.Count).Where(i => !random.Contains(i)).ToArray();
                rng.Shuffle(unlabeled);
                foreach (var i in unlabeled.Take(options.QueryPerRound)) random.Add(i);
            }
            rounds.Add(new ActiveLearningRound(round, uncertain.Count - queried.Count, uAccuracy, rAccuracy, queried));
        }
        return rounds;
    }

    /// <summary>Writes rounds.csv.</summary>
    public static void SaveCsv(IReadOnlyList<ActiveLearningRound> rounds, string path) =>
        AtomicFile.WriteAllText(path, "round,labeled,uncertainty_accuracy,random_accuracy\n" + string.Concat(rounds.Select(r =>
            FormattableString.Invariant($"{r.Round},{r.Labeled},{r.UncertaintyAccuracy:F4},{r.RandomAccuracy:F4}\n"))));

    /// <summary>Writes the accuracy-vs-labels curve of both strategies as a PNG.</summary>
    public static void SaveCurve(IReadOnlyList<ActiveLearningRound> rounds, string path)
    {
        var plot = Evaluation.Plots.New("Active learning: test accuracy vs labelled images");
        double[] labeled = [.. rounds.Select(r => (double)r.Labeled)];
        var u = plot.Add.Scatter(labeled, [.. rounds.Select(x => x.UncertaintyAccuracy)]);
        u.LegendText = "uncertainty sampling";
        u.MarkerShape = MarkerShape.FilledCircle;
        u.MarkerSize = 7;
        var r = plot.Add.Scatter(labeled, [.. rounds.Select(x => x.RandomAccuracy)]);
        r.LegendText = "random sampling";
        r.MarkerShape = MarkerShape.FilledSquare;
        r.MarkerSize = 7;
        r.LinePattern = LinePattern.Dashed;
        plot.XLabel("labelled images");
        plot.YLabel("accuracy");
        plot.ShowLegend(Alignment.LowerRight);
        AtomicFile.WriteAllBytes(path, Evaluation.Plots.Png(plot, 800, 500));
    }

    private static (ITransformer Model, double Accuracy) Fit(MLContext ml, IReadOnlyList<float[]> pool, int[] labels, HashSet<int> chosen,
        IReadOnlyList<float[]> test, int[] testLabels, int classes)
    {
        var idx = chosen.Order().ToList();
        var train = View(ml, [.. idx.Select(i => pool[i])], [.. idx.Select(i => labels[i])]);
        var model = ml.Transforms.Conversion.MapValueToKey("Label", keyData: KeyData(ml, classes))
            .Append(Training.ClassicalTrainers.LbfgsFor(idx.Count).Create(ml, "Features", "Label"))
            .Fit(train);
        var probabilities = Predict(ml, model, test, classes);
        int correct = probabilities.Select((p, i) => Array.IndexOf(p, p.Max()) == testLabels[i] ? 1 : 0).Sum();
        return (model, (double)correct / test.Count);
    }

    private static List<float[]> Predict(MLContext ml, ITransformer model, IReadOnlyList<float[]> features, int classes) =>
        [.. model.Transform(View(ml, features, new int[features.Count])).GetColumn<float[]>("Score")];

    private static IDataView KeyData(MLContext ml, int classes) =>
        ml.Data.LoadFromEnumerable(Enumerable.Range(0, classes).Select(c => new LabelRow { Label = c }));

    private static IDataView View(MLContext ml, IReadOnlyList<float[]> features, int[] labels)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features[0].Length);
        return ml.Data.LoadFromEnumerable(features.Select((f, i) => new Row { Features = f, Label = labels[i] }), schema);
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
        public int Label { get; set; }
    }

    private sealed class LabelRow { public int Label { get; set; } }
}
