using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Training;

namespace MLNetTransfer.Evaluation;

/// <summary>Scores labelled images with a trained classifier and builds a <see cref="ClassificationReport"/>.</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Evaluates on <paramref name="test"/>. Images whose label the model never saw cannot be scored fairly: they are
    /// left out and counted in <c>Details["excludedUnseenLabels"]</c> (the CLI prints them).
    /// </summary>
    public static ClassificationReport Evaluate(MLContext ml, ImageClassifierModel model, IReadOnlyList<LabeledImage> test)
    {
        var index = model.Labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
        var known = test.Where(t => index.ContainsKey(t.Label)).ToList();
        var unseen = test.Count - known.Count;
        if (known.Count == 0)
            throw new ArgumentException($"None of the {test.Count} test images has a label the model knows ({string.Join(", ", model.Labels)}).", nameof(test));

        var watch = Stopwatch.StartNew();
        var scored = model.Model.Transform(ml.Data.LoadFromEnumerable(known.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label })));
        var truth = new List<int>(known.Count);
        var predicted = new List<int>(known.Count);
        var trueProbability = new List<float>(known.Count);
        var wrong = new List<WrongPrediction>();
        int row = 0;
        foreach (var score in scored.GetColumn<float[]>("Score"))
        {
            int t = index[known[row++].Label];
            truth.Add(t);
            int p = Onnx.Scores.ArgMax(score);
            predicted.Add(p);
            float sum = score.Sum();
            if (p != t) wrong.Add(new WrongPrediction(known[row - 1].Path, model.Labels[t], model.Labels[p], sum > 0 ? score[p] / sum : 0));
            trueProbability.Add(sum > 0 ? score[t] / sum : 0);
        }
        double seconds = watch.Elapsed.TotalSeconds;
        var report = ClassificationReport.FromPredictions(model.Labels, truth, predicted, trueProbability);
        report.ImagesPerSecond = known.Count / Math.Max(seconds, 1e-9);
        report.TrainSeconds = model.TrainSeconds;
        report.Details["testImages"] = known.Count.ToString();
        report.Details["excludedUnseenLabels"] = unseen.ToString();
        report.ConfidentlyWrong.AddRange(wrong.OrderByDescending(w => w.Probability).Take(12));
        return report;
    }
}
