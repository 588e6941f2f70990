using System.Text.Json;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Featurization;
using SkiaSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Cli;

[Collection("heavy")]
public class CliCommandTests(ITestOutputHelper output)
{
    [NeedsAssets]
    [Fact]
    public void Train_evaluate_predict_on_a_real_cifar_subset()
    {
        using var dir = new TempDir();
        var outDir = dir.Combine("run");
        var train = CliProcess.Run("train", "--train", TestAssets.Cifar10Train, "--test", TestAssets.Cifar10Test, "--max-per-class", "30",
            "--strategy", "linear-probe", "--trainer", "lbfgs", "--out", outDir, "--quiet");
        output.WriteLine(train.Stdout + train.Stderr);
        Assert.Equal(0, train.ExitCode);
        foreach (var f in new[] { "model.zip", "metrics.json", "confusion.png", "report.html" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var metrics = ClassificationReport.Load(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(300, metrics.Count);
        Assert.True(metrics.Accuracy > 0.35, $"accuracy {metrics.Accuracy}"); // chance is 0.10
        Assert.Equal(10, metrics.PerClass.Count);
        using (var png = SKBitmap.Decode(Path.Combine(outDir, "confusion.png"))) Assert.True(png.Width >= 400);
        Assert.Equal(12, metrics.ConfidentlyWrong.Count);
        Assert.All(metrics.ConfidentlyWrong, w => Assert.NotEqual(w.TrueLabel, w.PredictedLabel));
        Assert.True(metrics.ConfidentlyWrong[0].Probability >= metrics.ConfidentlyWrong[^1].Probability);
        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("Most confidently wrong", html);
        Assert.Equal(12 + 1, html.Split("src=\"data:image/").Length - 1); // 12 thumbnails + the confusion matrix
        Assert.DoesNotContain("src=\"http", html);

        var evalDir = dir.Combine("eval");
        var evaluate = CliProcess.Run("evaluate", "--model", Path.Combine(outDir, "model.zip"), "--test", TestAssets.Cifar10Test,
            "--max-per-class", "30", "--out", evalDir, "--quiet");
        Assert.Equal(0, evaluate.ExitCode);
        var again = ClassificationReport.Load(Path.Combine(evalDir, "metrics.json"));
        Assert.Equal(metrics.Accuracy, again.Accuracy, 6); // same images, same model: same figure

        var image = Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "ship")).Order().First();
        var noNetwork = CliProcess.Run("explain", "--model", Path.Combine(outDir, "model.zip"), image, "--out", dir.Combine("x.png"));
        Assert.Equal(2, noNetwork.ExitCode); // a linear probe has no TorchSharp network to explain
        Assert.Contains("--strategy", noNetwork.Stderr);
        var predict = CliProcess.Run("predict", "--model", Path.Combine(outDir, "model.zip"), "--json", image);
        Assert.Equal(0, predict.ExitCode);
        var rows = JsonDocument.Parse(predict.Stdout).RootElement;
        Assert.Equal(1, rows.GetArrayLength());
        var scores = rows[0].GetProperty("scores").EnumerateObject().Select(p => p.Value.GetSingle()).ToList();
        Assert.Equal(10, scores.Count);
        Assert.Equal(1.0, scores.Sum(), 3);
        Assert.Equal(scores.Max(), rows[0].GetProperty("score").GetSingle(), 5);
    }

    [NeedsAssets]
    [Fact]
    public void Train_head_strategy_writes_onnx_and_curves_that_ort_can_run()
    {
        using var dir = new TempDir();
        var outDir = dir.Combine("head");
        var r = CliProcess.Run("train", "--train", TestAssets.Cifar10Train, "--test", TestAssets.Cifar10Test, "--max-per-class", "20",
            "--strategy", "head", "--epochs", "3", "--lr", "0.003", "--image-size", "64", "--out", outDir, "--quiet");
        output.WriteLine(r.Stdout + r.Stderr);
        Assert.Equal(0, r.ExitCode);
        foreach (var f in new[] { "model.zip", "model.onnx", "metrics.json", "metrics.csv", "curves.png", "confusion.png", "report.html" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(outDir, "metrics.csv")).Length); // header + 3 epochs
        Assert.True(ClassificationReport.Load(Path.Combine(outDir, "metrics.json")).Accuracy > 0.25); // chance 0.10
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(outDir, "model.onnx"));
        Assert.Contains("Score", session.OutputMetadata.Keys);
        Assert.Contains("PredictedLabel", session.OutputMetadata.Keys);
        var predict = CliProcess.Run("predict", "--model", Path.Combine(outDir, "model.zip"),
            Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "ship")).Order().First());
        Assert.Equal(0, predict.ExitCode);
        var fields = predict.Stdout.Trim().Split('\t');
        Assert.Equal(3, fields.Length);
        Assert.Contains(fields[1], MLNetTransfer.Data.Cifar10Binary.ClassNames);

        var ship = Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "ship")).Order().First();
        var explain = CliProcess.Run("explain", "--model", Path.Combine(outDir, "model.zip"), ship, "--class", "ship", "--out", dir.Combine("heat.png"));
        Assert.Equal(0, explain.ExitCode);
        Assert.Contains("ship (", explain.Stdout);
        using (var heat = SKBitmap.Decode(dir.Combine("heat.png"))) Assert.Equal((64, 64), (heat.Width, heat.Height)); // the network's input size
    }

    [NeedsAssets]
    [Fact]
    public void Inspect_json_reports_blocks_parameters_and_the_ort_torch_difference()
    {
        using var dir = new TempDir();
        var r = CliProcess.Run("inspect", TestAssets.MobileNetV2Int8, "--images", Path.Combine(TestAssets.Cifar10Test, "cat"), "--image-size", "96",
            "--export", dir.Combine("back.onnx"), "--json");
        Assert.Equal(0, r.ExitCode);
        var json = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(20, json.GetProperty("blocks").GetArrayLength());
        Assert.InRange(json.GetProperty("parameters").GetInt64(), 3_400_000, 3_600_000);
        Assert.InRange(json.GetProperty("maxAbsDiff").GetDouble(), 0, 1e-3);
        Assert.InRange(json.GetProperty("top1Agreement").GetDouble(), 0.1, 1.0);
        Assert.Equal("464_quantized", json.GetProperty("embedding").GetString());
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(dir.Combine("back.onnx"));
        Assert.Single(session.InputMetadata);
    }

    [NeedsAssets]
    [Fact]
    public void Similar_and_active_learn_write_their_files()
    {
        using var dir = new TempDir();
        var similar = CliProcess.Run("similar", "--images", TestAssets.Cifar10Test, "--max-per-class", "5", "--k", "3", "--out", dir.Combine("sim"));
        Assert.Equal(0, similar.ExitCode);
        Assert.Equal(1 + 50 * 3, File.ReadAllLines(dir.Combine("sim", "neighbours.csv")).Length);
        using (var png = SkiaSharp.SKBitmap.Decode(dir.Combine("sim", "similarity.png"))) Assert.Equal(900, png.Width); // 200 + 14·50

        var active = CliProcess.Run("active-learn", "--train", TestAssets.Cifar10Train, "--test", TestAssets.Cifar10Test, "--max-per-class", "20",
            "--rounds", "2", "--query", "10", "--initial-per-class", "2", "--diversity", "5", "--out", dir.Combine("al"));
        Assert.Equal(0, active.ExitCode);
        var rows = File.ReadAllLines(dir.Combine("al", "rounds.csv"));
        Assert.Equal(["round,labeled,uncertainty_accuracy,random_accuracy"], rows.Take(1));
        Assert.Equal(["0,20", "1,30", "2,40"], rows.Skip(1).Select(r => string.Join(",", r.Split(',').Take(2))));
        Assert.True(File.Exists(dir.Combine("al", "curve.png")));
    }

    [NeedsAssets]
    [Fact]
    public void Featurize_shards_are_disjoint_and_their_union_equals_the_whole()
    {
        using var dir = new TempDir();
        var images = CatsAndShips(dir, 9);
        Assert.Equal(0, CliProcess.Run("featurize", "--images", images, "--out", dir.Combine("all.parquet"), "--quiet").ExitCode);
        var parts = new List<EmbeddingRecord>();
        for (int i = 0; i < 3; i++)
        {
            var r = CliProcess.Run("featurize", "--images", images, "--shard", $"{i}/3", "--out", dir.Combine($"s{i}.parquet"), "--quiet");
            Assert.Equal(0, r.ExitCode);
            parts.AddRange(EmbeddingParquetWriter.ReadAll(dir.Combine($"s{i}.parquet")));
        }
        var all = EmbeddingParquetWriter.ReadAll(dir.Combine("all.parquet"));
        Assert.Equal(18, all.Count);
        Assert.Equal(all.Count, parts.Select(p => p.Path).Distinct().Count()); // disjoint
        Assert.Equal(all.Select(a => a.Path).Order(), parts.Select(p => p.Path).Order()); // union = whole
        var byPath = parts.ToDictionary(p => p.Path);
        foreach (var a in all)
        {
            Assert.Equal(512, a.Embedding.Length); // the default backbone, resnet18-int8
            Assert.Equal(a.Label, byPath[a.Path].Label);
            Assert.Equal(a.Embedding, byPath[a.Path].Embedding);
        }
    }

    [NeedsAssets]
    [Fact]
    public void Multi_block_flip_averaged_featurization_and_its_misuses()
    {
        using var dir = new TempDir();
        var images = CatsAndShips(dir, 4);
        var r = CliProcess.Run("featurize", "--images", images, "--backbone", "mobilenetv2-multiblock", "--flip-average", "--out", dir.Combine("m.parquet"), "--quiet");
        Assert.Equal(0, r.ExitCode);
        var rows = EmbeddingParquetWriter.ReadAll(dir.Combine("m.parquet"));
        Assert.Equal(8, rows.Count);
        Assert.All(rows, x => Assert.Equal(1856, x.Embedding.Length));

        var head = CliProcess.Run("train", "--train", images, "--strategy", "head", "--backbone", "mobilenetv2-multiblock", "--epochs", "1", "--out", dir.Combine("h"), "--quiet");
        Assert.Equal(2, head.ExitCode);
        Assert.Contains("featurization only", head.Stderr);
        Assert.False(File.Exists(dir.Combine("h", "model.zip")));

        var flip = CliProcess.Run("train", "--train", images, "--strategy", "head", "--flip-average", "--out", dir.Combine("f"), "--quiet");
        Assert.Equal(2, flip.ExitCode);
        Assert.Contains("--flip-average applies to --strategy linear-probe", flip.Stderr);
    }

    /// <summary>A small folder-per-class dataset: the first <paramref name="perClass"/> CIFAR test images of cat and ship.</summary>
    private static string CatsAndShips(TempDir dir, int perClass)
    {
        var images = dir.Combine("images");
        foreach (var cls in new[] { "cat", "ship" })
        {
            Directory.CreateDirectory(Path.Combine(images, cls));
            foreach (var f in Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, cls)).Order().Take(perClass))
                File.Copy(f, Path.Combine(images, cls, Path.GetFileName(f)));
        }
        return images;
    }

    [Theory]
    [InlineData("train", "--train", "/nonexistent/folder", "--out", "/tmp/x")]
    [InlineData("featurize", "--images", "/nonexistent/folder", "--out", "/tmp/x.parquet")]
    [InlineData("predict", "--model", "/nonexistent/model.zip", "a.jpg")]
    public void Missing_input_exits_2_with_one_line_naming_it(params string[] args)
    {
        var r = CliProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("error:", line);
        Assert.Contains("/nonexistent/", line);
    }

    [NeedsAssets]
    [Fact]
    public void Single_class_and_bad_shard_are_bad_input()
    {
        using var dir = new TempDir();
        var one = dir.Combine("one", "cat");
        Directory.CreateDirectory(one);
        foreach (var f in Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "cat")).Order().Take(5)) File.Copy(f, Path.Combine(one, Path.GetFileName(f)));
        var r = CliProcess.Run("train", "--train", dir.Combine("one"), "--out", dir.Combine("o"), "--quiet");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("2 classes", r.Stderr);
        Assert.False(File.Exists(dir.Combine("o", "model.zip")));

        var s = CliProcess.Run("featurize", "--images", dir.Combine("one"), "--shard", "3/3", "--out", dir.Combine("x.parquet"));
        Assert.Equal(2, s.ExitCode);
        Assert.Contains("--shard 3/3", s.Stderr);
        Assert.False(File.Exists(dir.Combine("x.parquet")));
    }

    [NeedsAssets]
    [Fact]
    public void Demo_runs_on_the_assets_and_writes_the_report()
    {
        using var dir = new TempDir();
        var r = CliProcess.RunWithAssets("demo", "--per-class", "20", "--out", dir.Combine("demo"), "--quiet");
        output.WriteLine(r.Stdout + r.Stderr);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("accuracy", r.Stdout);
        var html = File.ReadAllText(dir.Combine("demo", "report.html"));
        Assert.Contains("data:image/png;base64,", html);
        Assert.True(ClassificationReport.Load(dir.Combine("demo", "metrics.json")).Accuracy > 0.3);
    }
}
