using MLNetTransfer.IO;
using ScottPlot;

namespace MLNetTransfer.Evaluation;

/// <summary>Renders a confusion matrix as a PNG heat map with counts in the cells (ScottPlot on SkiaSharp 3).</summary>
public static class ConfusionMatrixPlot
{
    private static readonly IColormap WhiteToBlue = new ScottPlot.Colormaps.CustomInterpolated([Colors.White, new Color(8, 48, 107)]);

    /// <summary>Renders the PNG: rows are true labels (top to bottom), columns predicted labels; the size grows with the number of classes.</summary>
    public static PngImage Render(ConfusionMatrixData matrix, string title = "Confusion matrix")
    {
        int k = matrix.Labels.Length;
        int side = Math.Clamp(160 + 48 * k, 400, 2000);
        var counts = new double[k, k];
        int max = 0;
        for (int t = 0; t < k; t++)
            for (int p = 0; p < k; p++)
            {
                counts[t, p] = matrix.Counts[t][p];
                max = Math.Max(max, matrix.Counts[t][p]);
            }

        var plot = Plots.New(title);
        Plots.Heatmap(plot, counts, WhiteToBlue, 0, Math.Max(max, 1));
        // Heatmap row 0 is drawn at the top (y = k − 1); dark cells get white numbers so every count stays readable.
        float fontSize = k <= 12 ? 14 : 10;
        for (int t = 0; t < k; t++)
            for (int p = 0; p < k; p++)
            {
                var text = plot.Add.Text(matrix.Counts[t][p].ToString(System.Globalization.CultureInfo.InvariantCulture), p, k - 1 - t);
                text.Alignment = Alignment.MiddleCenter;
                text.LabelFontSize = fontSize;
                text.LabelFontColor = matrix.Counts[t][p] > 0.5 * max ? Colors.White : Colors.Black;
                if (Plots.SansFont is not null) text.LabelFontName = Plots.SansFont;
            }
        Plots.Categories(plot.Axes.Bottom, matrix.Labels, rotation: -45);
        Plots.Categories(plot.Axes.Left, matrix.Labels, reversed: true);
        plot.XLabel("predicted");
        plot.YLabel("true");
        return new PngImage(Plots.Png(plot, side, side));
    }

    /// <summary>Renders the PNG, writes it atomically and returns it (a notebook shows it inline).</summary>
    public static PngImage SavePng(ConfusionMatrixData matrix, string path, string title = "Confusion matrix")
    {
        var image = Render(matrix, title);
        AtomicFile.WriteAllBytes(path, image.Bytes);
        return image;
    }
}
