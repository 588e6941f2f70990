using System.Globalization;
using System.Net;
using System.Text;
using MLNetTransfer.IO;

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
        sb.Append("<p class=\"big\">accuracy <b>").Append(report.Accuracy.ToString("P2", inv)).Append("</b> · macro F1 <b>")
          .Append(report.MacroF1.ToString("F4", inv)).Append("</b> · log-loss <b>").Append(report.LogLoss.ToString("F4", inv))
          .Append("</b> · ").Append(report.Count).Append(" test images</p>");
        sb.Append("<p>training ").Append(report.TrainSeconds.ToString("F1", inv)).Append(" s · scoring ")
          .Append(report.ImagesPerSecond.ToString("F0", inv)).Append(" images/s</p>");

        sb.Append("<h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>");
        foreach (var (label, m) in report.PerClass)
            sb.Append("<tr><td>").Append(Enc(label)).Append("</td><td>").Append(m.Precision.ToString("F3", inv)).Append("</td><td>")
              .Append(m.Recall.ToString("F3", inv)).Append("</td><td>").Append(m.F1.ToString("F3", inv)).Append("</td><td>")
              .Append(m.Support).Append("</td></tr>");
        sb.Append("</table>");

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

    /// <summary>Renders and writes atomically.</summary>
    public static void Save(string path, ClassificationReport report, string title, IEnumerable<(string Caption, byte[] Png)>? images = null) =>
        AtomicFile.WriteAllText(path, Render(report, title, images));

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
