using MLNetTransfer.Featurization;

namespace MLNetTransfer.Tests.Cli;

/// <summary>
/// A relative <c>MLNETTRANSFER_ASSETS</c> (the README's <c>../shared/assets</c>) is taken from the directory the command was
/// started in, whichever folder the process itself runs in.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class WorkingDirectoryTests
{
    private static string SmallImageFolder(TempDir dir)
    {
        var images = dir.Combine("images");
        foreach (var img in TestAssets.CifarSubset(TestAssets.Cifar10Test, 1).Take(3))
        {
            Directory.CreateDirectory(Path.Combine(images, img.Label));
            File.Copy(img.Path, Path.Combine(images, img.Label, Path.GetFileName(img.Path)));
        }
        return images;
    }

    [Fact]
    public void The_cli_started_elsewhere_finds_a_relative_assets_folder()
    {
        using var dir = new TempDir();
        var images = SmallImageFolder(dir);
        var start = dir.Combine("work", "here");
        Directory.CreateDirectory(start);
        var relative = Path.GetRelativePath(start, TestAssets.Root);
        Assert.False(Path.IsPathRooted(relative));

        var result = CliProcess.RunIn(start, new Dictionary<string, string> { [TestAssets.Variable] = relative, ["PWD"] = start },
            "featurize", "--images", images, "--out", "e.parquet", "--quiet");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(3, EmbeddingParquetWriter.ReadAll(Path.Combine(start, "e.parquet")).Count);
    }

    [Fact]
    public void A_host_that_moved_its_working_directory_still_resolves_from_the_start_directory()
    {
        // dotnet test runs the test host in the binaries' folder; the shell's PWD still names where the command started.
        using var dir = new TempDir();
        var images = SmallImageFolder(dir);
        var start = dir.Combine("started-here");
        var moved = dir.Combine("host", "moved", "deeper", "still");
        Directory.CreateDirectory(start);
        Directory.CreateDirectory(moved);
        var relative = Path.GetRelativePath(start, TestAssets.Root);
        Assert.False(Directory.Exists(Path.Combine(moved, relative)), "the relative path must not also resolve from the moved folder");

        var ok = CliProcess.RunIn(moved, new Dictionary<string, string> { [TestAssets.Variable] = relative, ["PWD"] = start },
            "featurize", "--images", images, "--backbone", "mobilenetv2-int8", "--out", dir.Combine("e.parquet"), "--quiet"); // a model from the assets folder
        Assert.True(ok.ExitCode == 0, ok.Stderr);

        var missing = CliProcess.RunIn(moved, new Dictionary<string, string> { [TestAssets.Variable] = "no/such/assets", ["PWD"] = start },
            "featurize", "--images", images, "--backbone", "mobilenetv2-int8", "--out", dir.Combine("f.parquet"), "--quiet");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains(Path.Combine(moved, "no/such/assets"), missing.Stderr); // the error names the full path it looked in
        Assert.Contains(TestAssets.Variable, missing.Stderr);
    }
}
