using MLNetTransfer.Evaluation;
using SkiaSharp;

namespace MLNetTransfer.Tests.Evaluation;

public class ClassificationReportTests
{
    // 3 classes; truth/prediction pairs chosen so every metric has a hand-computed value.
    private static ClassificationReport Crafted() => ClassificationReport.FromPredictions(
        ["a", "b", "c"],
        truth: [0, 0, 0, 0, 1, 1, 2, 2],
        predicted: [0, 0, 0, 1, 1, 0, 2, 2],
        trueClassProbability: [0.9f, 0.8f, 0.7f, 0.2f, 0.6f, 0.3f, 0.95f, 0.85f]);

    [Fact]
    public void Metrics_match_hand_computation()
    {
        var r = Crafted();
        Assert.Equal(6.0 / 8, r.Accuracy, 12);
        // a: P=3/4 R=3/4 F1=0.75; b: P=1/2 R=1/2 F1=0.5; c: P=1 R=1 F1=1
        Assert.Equal(0.75, r.PerClass["a"].F1, 12);
        Assert.Equal(0.5, r.PerClass["b"].Precision, 12);
        Assert.Equal(2, r.PerClass["c"].Support);
        Assert.Equal((0.75 + 0.5 + 1.0) / 3, r.MacroF1, 12);
        double expectedLogLoss = new[] { 0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.95, 0.85 }.Average(p => -Math.Log(p));
        Assert.Equal(expectedLogLoss, r.LogLoss, 6);
        Assert.Equal([3, 1, 0], r.Confusion.Counts[0]);
        Assert.Equal([1, 1, 0], r.Confusion.Counts[1]);
    }

    [Fact]
    public void Metrics_json_round_trips_with_the_contract_names()
    {
        using var dir = new TempDir();
        var r = Crafted();
        r.TrainSeconds = 1.5;
        r.ImagesPerSecond = 321;
        var path = dir.Combine("metrics.json");
        r.Save(path);
        var text = File.ReadAllText(path);
        foreach (var key in new[] { "accuracy", "macroF1", "logLoss", "perClass", "confusion", "trainSeconds", "imagesPerSecond" })
            Assert.Contains($"\"{key}\"", text);
        var back = ClassificationReport.Load(path);
        Assert.Equal(r.Accuracy, back.Accuracy);
        Assert.Equal(r.PerClass["b"], back.PerClass["b"]);
        Assert.Equal(r.Confusion.Counts, back.Confusion.Counts);
        Assert.Equal(321, back.ImagesPerSecond);
    }

    [Fact]
    public void Confusion_png_decodes_with_the_expected_size_and_text_table_has_counts()
    {
        using var dir = new TempDir();
        var r = Crafted();
        var path = dir.Combine("confusion.png");
        ConfusionMatrixPlot.SavePng(r.Confusion, path);
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal(400, bitmap.Width); // 160 + 48·3 clamps to the 400-pixel minimum
        Assert.Equal(400, bitmap.Height);
        var text = r.Confusion.ToText();
        Assert.Contains("true \\ pred", text);
        Assert.Equal(4, text.Trim().Split('\n').Length);
    }

    [Fact]
    public void Html_report_is_self_contained()
    {
        var html = HtmlReport.Render(Crafted(), "t <x>", [("img", [1, 2, 3])]);
        Assert.Contains("data:image/png;base64,AQID", html);
        Assert.Contains("t &lt;x&gt;", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("<script", html);
    }
}
