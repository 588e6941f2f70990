using MLNetTransfer.IO;
using MLNetTransfer.Training;
using ScottPlot;

namespace MLNetTransfer.Evaluation;

/// <summary>Loss and accuracy per epoch (train and validation) as a PNG.</summary>
public static class TrainingCurvesPlot
{
    /// <summary>Renders the curves; returns the PNG bytes (also written to <paramref name="path"/> when given).</summary>
    public static byte[] Render(IReadOnlyList<EpochMetrics> history, string? path = null, int width = 900, int height = 450)
    {
        var plot = Plots.New("Training curves");
        var lossColor = new Color(31, 119, 180);
        var accuracyColor = new Color(255, 127, 14);
        double maxLoss = 0;
        void Line(string title, Func<EpochMetrics, double> value, IYAxis axis, Color color, LinePattern pattern)
        {
            var points = history.Where(m => !double.IsNaN(value(m))).ToList();
            if (points.Count == 0) return;
            var series = plot.Add.Scatter(points.Select(m => (double)(m.Epoch + 1)).ToArray(), points.Select(value).ToArray(), color);
            series.LegendText = title;
            series.LinePattern = pattern;
            series.MarkerShape = MarkerShape.FilledCircle;
            series.MarkerSize = 5;
            series.Axes.YAxis = axis;
            if (axis == plot.Axes.Left) maxLoss = Math.Max(maxLoss, points.Max(value));
        }
        Line("train loss", m => m.TrainLoss, plot.Axes.Left, lossColor, LinePattern.Solid);
        Line("validation loss", m => m.ValidationLoss, plot.Axes.Left, lossColor, LinePattern.Dashed);
        Line("train accuracy", m => m.TrainAccuracy, plot.Axes.Right, accuracyColor, LinePattern.Solid);
        Line("validation accuracy", m => m.ValidationAccuracy, plot.Axes.Right, accuracyColor, LinePattern.Dashed);
        int epochs = history.Count == 0 ? 1 : history.Max(m => m.Epoch + 1);
        plot.Axes.SetLimitsX(0.5, epochs + 0.5);
        plot.Axes.SetLimitsY(0, maxLoss > 0 && double.IsFinite(maxLoss) ? maxLoss * 1.05 : 1, plot.Axes.Left);
        plot.Axes.SetLimitsY(0, 1, plot.Axes.Right);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.XLabel("epoch");
        plot.Axes.Left.Label.Text = "loss";
        plot.Axes.Right.Label.Text = "accuracy";
        plot.ShowLegend(Edge.Right);
        var png = Plots.Png(plot, width, height);
        if (path is not null) AtomicFile.WriteAllBytes(path, png);
        return png;
    }
}
