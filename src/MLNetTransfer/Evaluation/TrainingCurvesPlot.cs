using MLNetTransfer.IO;
using MLNetTransfer.Training;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace MLNetTransfer.Evaluation;

/// <summary>Loss and accuracy per epoch (train and validation) as a PNG.</summary>
public static class TrainingCurvesPlot
{
    /// <summary>Renders the curves; returns the PNG bytes (also written to <paramref name="path"/> when given).</summary>
    public static byte[] Render(IReadOnlyList<EpochMetrics> history, string? path = null, int width = 900, int height = 450)
    {
        var model = new PlotModel { Title = "Training curves", Background = OxyColors.White };
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.RightMiddle, LegendPlacement = LegendPlacement.Outside });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "epoch", Minimum = 0.5 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "loss", Key = "loss", Minimum = 0 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Right, Title = "accuracy", Key = "accuracy", Minimum = 0, Maximum = 1 });
        void Line(string title, Func<EpochMetrics, double> value, string axis, LineStyle style)
        {
            var series = new LineSeries { Title = title, YAxisKey = axis, LineStyle = style, MarkerType = MarkerType.Circle, MarkerSize = 2 };
            foreach (var m in history.Where(m => !double.IsNaN(value(m)))) series.Points.Add(new DataPoint(m.Epoch + 1, value(m)));
            if (series.Points.Count > 0) model.Series.Add(series);
        }
        Line("train loss", m => m.TrainLoss, "loss", LineStyle.Solid);
        Line("validation loss", m => m.ValidationLoss, "loss", LineStyle.Dash);
        Line("train accuracy", m => m.TrainAccuracy, "accuracy", LineStyle.Solid);
        Line("validation accuracy", m => m.ValidationAccuracy, "accuracy", LineStyle.Dash);
        using var stream = new MemoryStream();
        new OxyPlot.SkiaSharp.PngExporter { Width = width, Height = height }.Export(model, stream);
        var png = stream.ToArray();
        if (path is not null) AtomicFile.WriteAllBytes(path, png);
        return png;
    }
}
