using MLNetTransfer.IO;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Series;

namespace MLNetTransfer.Evaluation;

/// <summary>Renders a confusion matrix as a PNG heat map with counts in the cells (OxyPlot on SkiaSharp 2.88).</summary>
public static class ConfusionMatrixPlot
{
    /// <summary>Builds the OxyPlot model: rows are true labels (top to bottom), columns predicted labels.</summary>
    public static PlotModel Build(ConfusionMatrixData matrix, string title = "Confusion matrix")
    {
        int k = matrix.Labels.Length;
        // HeatMapSeries indexes Data[x, y]; y grows upwards, so row 0 (first true label) goes on top.
        var data = new double[k, k];
        for (int t = 0; t < k; t++)
            for (int p = 0; p < k; p++)
                data[p, k - 1 - t] = matrix.Counts[t][p];

        var model = new PlotModel { Title = title, Background = OxyColors.White };
        model.Axes.Add(new LinearColorAxis { Position = AxisPosition.Right, Palette = OxyPalette.Interpolate(64, OxyColors.White, OxyColor.FromRgb(8, 48, 107)), Minimum = 0, IsAxisVisible = false });
        model.Axes.Add(CategoryAxis(AxisPosition.Bottom, "predicted", matrix.Labels, angle: -45));
        model.Axes.Add(CategoryAxis(AxisPosition.Left, "true", [.. matrix.Labels.Reverse()], angle: 0));
        model.Series.Add(new HeatMapSeries
        {
            X0 = 0, X1 = k - 1, Y0 = 0, Y1 = k - 1,
            Data = data,
            RenderMethod = HeatMapRenderMethod.Rectangles,
            LabelFormatString = "0",
            // Dark cells get white numbers so every count stays readable.
            TextColor = OxyColors.Black,
            LabelFontSize = k <= 12 ? 0.25 : 0.18,
        });
        return model;
    }

    /// <summary>Renders the PNG; the size grows with the number of classes.</summary>
    public static PngImage Render(ConfusionMatrixData matrix, string title = "Confusion matrix")
    {
        int side = Math.Clamp(160 + 48 * matrix.Labels.Length, 400, 2000);
        using var stream = new MemoryStream();
        new OxyPlot.SkiaSharp.PngExporter { Width = side, Height = side }.Export(Build(matrix, title), stream);
        return new PngImage(stream.ToArray());
    }

    /// <summary>Renders the PNG, writes it atomically and returns it (a notebook shows it inline).</summary>
    public static PngImage SavePng(ConfusionMatrixData matrix, string path, string title = "Confusion matrix")
    {
        var image = Render(matrix, title);
        AtomicFile.WriteAllBytes(path, image.Bytes);
        return image;
    }

    private static CategoryAxis CategoryAxis(AxisPosition position, string title, string[] labels, double angle)
    {
        var axis = new CategoryAxis { Position = position, Title = title, Angle = angle, GapWidth = 0, IsZoomEnabled = false };
        axis.Labels.AddRange(labels);
        return axis;
    }
}
