using System.Text.RegularExpressions;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;

namespace MLNetTransfer.Tests.Evaluation;

/// <summary>The HTML the package's notebook formatters show: a report with its confusion picture, a history table, a picture.</summary>
public class NotebookHtmlTests
{
    private static byte[] FirstImage(string html) =>
        Convert.FromBase64String(Regex.Match(html, "src=\"data:image/png;base64,([^\"]+)\"").Groups[1].Value);

    [Fact]
    public void A_report_fragment_has_the_headline_one_row_per_class_and_the_confusion_picture()
    {
        var report = ClassificationReport.FromPredictions(["cat", "dog"], [0, 0, 1, 1], [0, 1, 1, 1]);
        var html = HtmlReport.Fragment(report);

        Assert.Contains("accuracy <b>75.00%</b>", html.Replace(" %", "%"));
        Assert.Contains("<tr><td>cat</td><td>1.000</td><td>0.500</td><td>0.667</td><td>2</td></tr>", html);
        Assert.Contains("<tr><td>dog</td><td>0.667</td><td>1.000</td><td>0.800</td><td>2</td></tr>", html);
        Assert.DoesNotContain("<html", html);
        Assert.Equal(ConfusionMatrixPlot.Render(report.Confusion).Bytes, FirstImage(html));
        Assert.Equal("accuracy 75.00 %, macro F1 0.7333, 4 images", report.ToString());
    }

    [Fact]
    public void A_history_table_has_one_row_per_epoch_with_dashes_where_nothing_was_measured()
    {
        var html = HtmlReport.HistoryTable([
            new EpochMetrics(0, "warmup", 1.5, 0.4, double.NaN, double.NaN, 0.003, 2.25, 900),
            new EpochMetrics(1, "finetune", 0.75, 0.625, 0.8, 0.6, 0.0003, 3, 450)]);

        Assert.Equal(3, Regex.Matches(html, "<tr>").Count);   // header + 2 epochs
        Assert.Contains("<tr><td>1</td><td>warmup</td><td>1.5000</td><td>40.0 %</td><td>–</td><td>–</td><td>0.003</td><td>2.2</td><td>900</td></tr>", html);
        Assert.Contains("<tr><td>2</td><td>finetune</td><td>0.7500</td><td>62.5 %</td><td>0.8000</td><td>60.0 %</td><td>0.0003</td><td>3.0</td><td>450</td></tr>", html);
    }

    [Fact]
    public void Plotting_helpers_return_the_picture_they_wrote()
    {
        using var dir = new TempDir();
        var path = dir.Combine("c.png");
        var image = ConfusionMatrixPlot.SavePng(new ConfusionMatrixData(["a", "b"], [[3, 1], [0, 4]]), path);

        Assert.Equal(File.ReadAllBytes(path), image.Bytes);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, image.Bytes[..4]);
        Assert.Equal(image.Bytes, FirstImage(image.ToHtml("confusion")));
    }
}
