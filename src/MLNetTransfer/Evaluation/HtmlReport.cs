using System.Globalization;
using System.Net;
using System.Text;
using MLNetTransfer.IO;
using MLNetTransfer.Training;

namespace MLNetTransfer.Evaluation;

/// <summary>
/// A self-contained <c>report.html</c>: headline metrics, per-class table, confusion matrix (PNG inlined as base64),
/// run details. No external file, script or font is referenced, so it can be mailed or archived as is.
/// </summary>
public static class HtmlReport
{
    /// <summary>Renders the report; <paramref name="images"/> are (caption, PNG bytes) pairs inlined in order.</summary>
    public static string Render(ClassificationReport report, string title, IEnumerable<(string Caption, byte[] Png)>? images = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Enc(title)).Append("</title><style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}")
          .Append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}")
          .Append(".big{font-size:1.4em}img{max-width:100%;border:1px solid #eee}</style></head><body>");
        sb.Append("<h1>").Append(Enc(title)).Append("</h1>");
        AppendHeadlineAndPerClass(sb, report, "h2");

        foreach (var (caption, png) in images ?? [])
            sb.Append("<h2>").Append(Enc(caption)).Append("</h2><img alt=\"").Append(Enc(caption))
              .Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(png)).Append("\">");

        if (report.ConfidentlyWrong.Count > 0)
        {
            sb.Append("<h2>Most confidently wrong test images</h2><div style=\"display:flex;flex-wrap:wrap;gap:12px\">");
            foreach (var w in report.ConfidentlyWrong.Where(w => File.Exists(w.Path)))
            {
                var mime = Path.GetExtension(w.Path).ToLowerInvariant() switch { ".png" => "image/png", ".gif" => "image/gif", ".bmp" => "image/bmp", ".webp" => "image/webp", _ => "image/jpeg" };
                sb.Append("<figure style=\"margin:0;width:112px;font-size:12px\"><img style=\"width:96px;height:96px;image-rendering:pixelated\" alt=\"")
                  .Append(Enc(Path.GetFileName(w.Path))).Append("\" src=\"data:").Append(mime).Append(";base64,").Append(Convert.ToBase64String(File.ReadAllBytes(w.Path)))
                  .Append("\"><figcaption>true <b>").Append(Enc(w.TrueLabel)).Append("</b><br>predicted <b>").Append(Enc(w.PredictedLabel))
                  .Append("</b> ").Append(w.Probability.ToString("P0", inv)).Append("</figcaption></figure>");
            }
            sb.Append("</div>");
        }
        sb.Append("<h2>Confusion matrix (rows: true, columns: predicted)</h2><pre>").Append(Enc(report.Confusion.ToText())).Append("</pre>");
        if (report.Details.Count > 0)
        {
            sb.Append("<h2>Run</h2><table>");
            foreach (var (k, v) in report.Details) sb.Append("<tr><td>").Append(Enc(k)).Append("</td><td>").Append(Enc(v)).Append("</td></tr>");
            sb.Append("</table>");
        }
        sb.Append("</body></html>");
        return sb.ToString();
    }

    /// <summary>
    /// An HTML fragment for a notebook cell: headline metrics, the per-class table and the confusion matrix picture
    /// (inlined), without the page wrapper or the image grid of <see cref="Render"/>.
    /// </summary>
    public static string Fragment(ClassificationReport report)
    {
        var sb = new StringBuilder("<div class=\"mlnet-transfer-report\">");
        AppendHeadlineAndPerClass(sb, report, "h4");
        sb.Append(ConfusionMatrixPlot.Render(report.Confusion).ToHtml("confusion matrix")).Append("</div>");
        return sb.ToString();
    }

    /// <summary>An HTML table of a training history: one row per epoch, losses, accuracies, rate and time.</summary>
    public static string HistoryTable(IEnumerable<EpochMetrics> history)
    {
        var inv = CultureInfo.InvariantCulture;
        static string Cell(double v, string format) => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
        var sb = new StringBuilder("<table><tr><th>epoch</th><th>phase</th><th>train loss</th><th>train acc.</th><th>val. loss</th>")
            .Append("<th>val. acc.</th><th>learning rate</th><th>seconds</th><th>images/s</th></tr>");
        foreach (var m in history)
            sb.Append("<tr><td>").Append(m.Epoch + 1).Append("</td><td>").Append(Enc(m.Phase)).Append("</td><td>").Append(Cell(m.TrainLoss, "F4"))
              .Append("</td><td>").Append(Cell(m.TrainAccuracy, "P1")).Append("</td><td>").Append(Cell(m.ValidationLoss, "F4"))
              .Append("</td><td>").Append(Cell(m.ValidationAccuracy, "P1")).Append("</td><td>").Append(m.LearningRate.ToString("G3", inv))
              .Append("</td><td>").Append(Cell(m.Seconds, "F1")).Append("</td><td>").Append(Cell(m.ImagesPerSecond, "F0")).Append("</td></tr>");
        return sb.Append("</table>").ToString();
    }

    private static void AppendHeadlineAndPerClass(StringBuilder sb, ClassificationReport report, string heading)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append("<p class=\"big\">accuracy <b>").Append(report.Accuracy.ToString("P2", inv)).Append("</b> · macro F1 <b>")
          .Append(report.MacroF1.ToString("F4", inv)).Append("</b> · log-loss <b>").Append(report.LogLoss.ToString("F4", inv))
          .Append("</b> · ").Append(report.Count).Append(" test images</p>");
        sb.Append("<p>training ").Append(report.TrainSeconds.ToString("F1", inv)).Append(" s · scoring ")
          .Append(report.ImagesPerSecond.ToString("F0", inv)).Append(" images/s</p>");

        sb.Append('<').Append(heading).Append(">Per class</").Append(heading).Append("><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>");
        foreach (var (label, m) in report.PerClass)
            sb.Append("<tr><td>").Append(Enc(label)).Append("</td><td>").Append(m.Precision.ToString("F3", inv)).Append("</td><td>")
              .Append(m.Recall.ToString("F3", inv)).Append("</td><td>").Append(m.F1.ToString("F3", inv)).Append("</td><td>")
              .Append(m.Support).Append("</td></tr>");
        sb.Append("</table>");
    }

    /// <summary>Renders and writes atomically.</summary>
    public static void Save(string path, ClassificationReport report, string title, IEnumerable<(string Caption, byte[] Png)>? images = null) =>
        AtomicFile.WriteAllText(path, Render(report, title, images));

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
