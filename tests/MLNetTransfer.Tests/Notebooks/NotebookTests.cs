using System.Text.Json.Nodes;
using MLNetTransfer.Cli.Notebooks;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Notebooks;

/// <summary>Every notebook in notebooks/ runs cell by cell (small-data switch on); each ends with a cell that checks its headline.</summary>
[Collection("heavy")]
public class NotebookTests(ITestOutputHelper output)
{
    private static string Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLNetTransfer.sln"))) return Path.Combine(dir.FullName, "notebooks");
        throw new DirectoryNotFoundException("repository root not found above the test binaries");
    }

    public static TheoryData<string> All() => [.. Directory.GetFiles(Folder(), "*.ipynb").Order().Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(All))]
    public void Notebook_runs_and_its_headline_check_passes(string name)
    {
        Environment.SetEnvironmentVariable("MLNETTRANSFER_NOTEBOOK_SMALL", "1");
        Environment.SetEnvironmentVariable(TestAssets.Variable, TestAssets.Root);
        using var dir = new TempDir();
        var copy = dir.Combine(name);
        File.Copy(Path.Combine(Folder(), name), copy);
        var cells = new NotebookRunner { SaveOutputs = true }.Run(copy);
        foreach (var c in cells) output.WriteLine($"cell {c.Index + 1}: {c.Output.Trim()}{(c.Error is null ? "" : " ERROR " + c.Error.Message)}");
        Assert.All(cells, c => Assert.Null(c.Error));
        var codeCells = JsonNode.Parse(File.ReadAllText(copy))!["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.Equal(codeCells.Count, cells.Count); // every cell ran, the last one being the headline check
        Assert.All(codeCells, c => Assert.NotNull(c!["outputs"]));
    }

    [Fact]
    public void A_throwing_cell_stops_the_run_and_an_unknown_package_is_refused()
    {
        using var dir = new TempDir();
        var path = dir.Combine("bad.ipynb");
        File.WriteAllText(path, """
            {"cells":[{"cell_type":"code","metadata":{},"outputs":[],"source":["var x = 40 + 2;\n","x"]},
                      {"cell_type":"code","metadata":{},"outputs":[],"source":["throw new InvalidOperationException(\"boom\");"]},
                      {"cell_type":"code","metadata":{},"outputs":[],"source":["x"]}],"metadata":{},"nbformat":4,"nbformat_minor":5}
            """);
        var cells = new NotebookRunner().Run(path);
        Assert.Equal(2, cells.Count);
        Assert.Equal("42", cells[0].Output.Trim());
        Assert.Equal("boom", cells[1].Error!.Message);

        File.WriteAllText(path, """{"cells":[{"cell_type":"code","metadata":{},"outputs":[],"source":["#r \"nuget: Newtonsoft.Json\""]}],"metadata":{},"nbformat":4,"nbformat_minor":5}""");
        Assert.Contains("not available offline", Assert.Throws<InvalidDataException>(() => new NotebookRunner().Run(path)).Message);
    }
}
