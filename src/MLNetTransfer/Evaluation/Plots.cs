using ScottPlot;

namespace MLNetTransfer.Evaluation;

/// <summary>
/// What every plot of this library shares (ScottPlot 5 on SkiaSharp 3, the SkiaSharp ML.NET ImageAnalytics 6 is built on):
/// a white plot with a sans-serif font, rendered to PNG bytes. ScottPlot types stay internal: the public helpers
/// return PNG bytes or <see cref="PngImage"/>.
/// </summary>
internal static class Plots
{
    // ScottPlot's own detection picks DejaVu Serif on Debian for "sans"; ask for DejaVu Sans by name when it is there.
    public static readonly string? SansFont = new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica" }.FirstOrDefault(f => Fonts.GetTypeface(f, false, false) is { } typeface && typeface.FamilyName == f);

    public static Plot New(string title)
    {
        var plot = new Plot();
        if (SansFont is not null) plot.Font.Set(SansFont);
        plot.FigureBackground.Color = Colors.White;
        plot.DataBackground.Color = Colors.White;
        plot.Title(title);
        return plot;
    }

    public static byte[] Png(Plot plot, int width, int height) => plot.GetImageBytes(width, height, ImageFormat.Png);

    /// <summary>Category labels on an axis at positions 0..n−1 (or reversed: label 0 at n−1, for rows drawn top down).</summary>
    public static void Categories(IAxis axis, IReadOnlyList<string> labels, bool reversed = false, float fontSize = 12, float rotation = 0)
    {
        int n = labels.Count;
        axis.SetTicks([.. Enumerable.Range(0, n).Select(i => (double)(reversed ? n - 1 - i : i))], [.. labels]);
        axis.MajorTickStyle.Length = 0;
        axis.TickLabelStyle.FontSize = fontSize;
        if (rotation != 0)
        {
            axis.TickLabelStyle.Rotation = rotation;
            axis.TickLabelStyle.Alignment = Alignment.MiddleRight;
            // ScottPlot sizes the axis panel for unrotated labels: make room for the slanted ones and the axis title below them.
            using var paint = Paint.NewDisposablePaint();
            var (_, widest) = axis.TickLabelStyle.MeasureWidestString([.. labels], paint);
            double radians = rotation * Math.PI / 180;
            if (axis is ScottPlot.AxisPanels.AxisBase panel)
                panel.MinimumSize = (float)(widest.Length * Math.Abs(Math.Sin(radians)) + fontSize * Math.Abs(Math.Cos(radians))) + 2.5f * axis.Label.FontSize;
        }
    }

    /// <summary>A heat map of <paramref name="values"/> (row 0 on top) drawn as square cells at integer coordinates.</summary>
    public static ScottPlot.Plottables.Heatmap Heatmap(Plot plot, double[,] values, IColormap colormap, double min, double max)
    {
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = colormap;
        heatmap.ManualRange = new ScottPlot.Range(min, max);
        plot.HideGrid();
        plot.Axes.SetLimits(-0.5, values.GetLength(1) - 0.5, -0.5, values.GetLength(0) - 0.5);
        return heatmap;
    }
}
