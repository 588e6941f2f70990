using MLNetTransfer.Featurization;

namespace MLNetTransfer.Tests.Cli;

/// <summary><c>similar</c>, <c>featurize</c> and <c>predict DIR</c> on a folder of images without class sub-folders.</summary>
[NeedsAssets]
[Collection("heavy")]
public class FlatFolderCommandTests
{
    [Fact]
    public void Similar_featurize_and_predict_accept_a_flat_folder()
    {
        using var dir = new TempDir();
        var flat = dir.Combine("photos, unsorted");
        Directory.CreateDirectory(flat);
        var sources = TestAssets.CifarSubset(TestAssets.Cifar10Test, 1);
        foreach (var img in sources) File.Copy(img.Path, Path.Combine(flat, img.Label + "-" + Path.GetFileName(img.Path)));
        // Two identical files: each must be the other's nearest neighbour.
        File.Copy(sources[0].Path, Path.Combine(flat, "copy-of-first.jpg"));

        var similar = CliProcess.Run("similar", "--images", flat, "--k", "1", "--out", dir.Combine("sim"), "--quiet");
        Assert.True(similar.ExitCode == 0, similar.Stderr);
        var lines = File.ReadAllLines(dir.Combine("sim", "neighbours.csv"));
        Assert.Equal(1 + 11, lines.Length); // header + one neighbour for each of 11 images
        // Rows read: "image",label(empty),rank,"neighbour",label,cosine.
        var copy = lines.Single(l => l.Split(",,1,")[0].EndsWith("copy-of-first.jpg\""));
        Assert.EndsWith(Path.GetFileName(sources[0].Path) + "\",,1.0000", copy);
        Assert.StartsWith("\"", copy); // the folder name holds a comma: the path is quoted
        Assert.DoesNotContain("nearest neighbour shares the label", similar.Stdout);

        var featurize = CliProcess.Run("featurize", "--images", flat, "--out", dir.Combine("e.parquet"), "--quiet");
        Assert.True(featurize.ExitCode == 0, featurize.Stderr);
        var rows = EmbeddingParquetWriter.ReadAll(dir.Combine("e.parquet"));
        Assert.Equal(11, rows.Count);
        Assert.All(rows, r => Assert.Equal("", r.Label));

        var train = CliProcess.Run("train", "--train", TestAssets.Cifar10Train, "--max-per-class", "5", "--strategy", "linear-probe", "--out", dir.Combine("m"), "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var predict = CliProcess.Run("predict", "--model", dir.Combine("m", "model.zip"), flat);
        Assert.True(predict.ExitCode == 0, predict.Stderr);
        var predicted = predict.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(11, predicted.Length);
        Assert.All(predicted, p => Assert.StartsWith(flat, p));
    }
}
