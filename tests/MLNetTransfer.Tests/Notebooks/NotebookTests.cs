using System.Diagnostics;
using System.Text.Json.Nodes;
using MLNetTransfer.Tests.Packaging;
using MLNetTransfer.Tests.Reliability;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Notebooks;

/// <summary>
/// Every notebook in notebooks/ runs as a user runs it: in the real .NET Interactive kernel (dotnet-repl, in a child
/// process, so nothing of this test host is preloaded), against the libraries freshly packed into a folder feed with a
/// unique version (<see cref="PackedFeed"/>: the kernel caches restores by reference list, so a reused version could run old code), with its own
/// HOME and temp folder, small-data switch on. A cell error fails the test naming the notebook, the cell and the error;
/// each notebook's last cell checks its headline figure.
/// </summary>
[NeedsAssets(TestCategory.Notebooks)]
[Collection("packages")]
public class NotebookTests(PackedFeed library, ITestOutputHelper output)
{
    // The references as they appear in the notebook's JSON (quotes escaped), at the version dotnet pack writes: the core
    // package in every notebook, the fine-tuning one in those that fine-tune (06, the Vision drop-in, needs only the core).
    private const string CoreReference = "#r \\\"nuget: MLNetTransfer, 0.1.0\\\"";
    private const string FineTuningReference = "#r \\\"nuget: MLNetTransfer.TorchSharp, 0.1.0\\\"";

    private static string Folder() => Path.Combine(HostileInputCorpusTests.RepoRoot(), "notebooks");

    public static TheoryData<string> All() => [.. Directory.GetFiles(Folder(), "*.ipynb").Order().Select(f => Path.GetFileName(f))];

    /// <summary>The package folder shared by this run's notebooks (libtorch alone is 600 MB: extracted once per run).</summary>
    private string Packages => Path.Combine(library.Root, "nuget-packages");

    [Theory]
    [MemberData(nameof(All))]
    public void Notebook_runs_in_the_dotnet_interactive_kernel_and_its_headline_check_passes(string name)
    {
        var notebooks = Path.Combine(library.Root, "notebooks");
        Directory.CreateDirectory(notebooks);
        var text = File.ReadAllText(Path.Combine(Folder(), name));
        foreach (var reference in new[] { CoreReference, FineTuningReference })
        {
            int count = text.Split(reference).Length - 1;
            Assert.True(reference == CoreReference ? count == 1 : count <= 1, $"{name}: expected {(reference == CoreReference ? "one cell" : "at most one cell")} with {reference.Replace("\\\"", "\"")}");
            text = text.Replace(reference, reference.Replace("0.1.0", library.Version));
        }
        File.WriteAllText(Path.Combine(notebooks, name), text);

        var run = Path.GetFileNameWithoutExtension(name);
        var home = Path.Combine(library.Root, "home-" + run);
        var temp = Path.Combine(library.Root, "tmp-" + run);
        Directory.CreateDirectory(temp);
        WriteUserNuGetConfig(home);
        var saved = Path.Combine(library.Root, run + ".out.ipynb");
        var env = NuGetPackageTests.ChildBuildEnvironment();
        env["HOME"] = home;
        env["NUGET_PACKAGES"] = Packages;
        env["TMPDIR"] = temp;
        env["XDG_CACHE_HOME"] = null;
        env["MLNETTRANSFER_NOTEBOOK_SMALL"] = "1";

        var watch = Stopwatch.StartNew();
        var result = ChildProgram.Run(DotnetRepl(), ["--run", name, "--exit-after-run", "--output-path", saved], notebooks, env, TimeSpan.FromMinutes(30));
        output.WriteLine($"{name}: dotnet-repl exit {result.ExitCode} in {watch.Elapsed.TotalSeconds:F0} s");

        Assert.True(File.Exists(saved), $"{name}: dotnet-repl wrote no output notebook (exit {result.ExitCode}):\n{result.Output}");
        var cells = CodeCells(saved);
        foreach (var (number, source, outputs, _) in cells)
            foreach (var error in outputs.Where(o => (string?)o!["output_type"] == "error"))
                Assert.Fail($"{name}: code cell {number} ({FirstLine(source)}) failed: {error!["ename"]}: {error["evalue"]}");
        Assert.True(result.ExitCode == 0, $"{name}: dotnet-repl exit {result.ExitCode} with no cell error:\n{result.Output}");
        Assert.All(cells, c => Assert.True(c.Ran, $"{name}: code cell {c.Number} ({FirstLine(c.Source)}) did not run"));

        // The package's kernel extension ran: results show as the library's HTML, not as type names.
        var html = string.Concat(cells.SelectMany(c => c.Outputs).Select(o => Source(o!["data"]?["text/html"])));
        if (name.StartsWith("01") || name.StartsWith("02"))
        {
            Assert.Contains("class=\"mlnet-transfer-report\"", html);
            Assert.Contains("data:image/png;base64,", html);
        }
        if (name.StartsWith("05")) Assert.Contains("<th>val. acc.</th>", html);
    }

    // dotnet-repl stamps each cell it executed with its start and end time in the cell's metadata.
    private static List<(int Number, string Source, List<JsonNode?> Outputs, bool Ran)> CodeCells(string path) =>
        [.. JsonNode.Parse(File.ReadAllText(path))!["cells"]!.AsArray()
            .Where(c => (string?)c!["cell_type"] == "code")
            .Select((c, i) => (i + 1, Source(c!["source"]), c!["outputs"]?.AsArray().ToList() ?? [], c!["metadata"]?["dotnet_repl_cellExecutionEndTime"] is not null))];

    private static string Source(JsonNode? source) => source is JsonArray lines ? string.Concat(lines.Select(l => (string?)l)) : (string?)source ?? "";

    private static string FirstLine(string source) => source.Split('\n').FirstOrDefault(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith("//"))?.Trim() ?? "";

    // Restores are offline: the notebook's own feed comes from its #i; everything else from the machine's packages folder.
    private static void WriteUserNuGetConfig(string home)
    {
        var folder = Path.Combine(home, ".nuget", "NuGet");
        Directory.CreateDirectory(folder);
        NuGetPackageTests.WriteNuGetConfig(folder, feed: null, fileName: "NuGet.Config");
    }

    /// <summary>
    /// dotnet-repl 0.3.259: <c>$DOTNET_REPL</c>, the PATH, the global tools folder, or else installed from NuGet into the
    /// checkout's git-ignored <c>artifacts/tools</c>, so the README's test command needs no install step of its own.
    /// </summary>
    private static string DotnetRepl()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("DOTNET_REPL") is { Length: > 0 } explicitPath) candidates.Add(explicitPath);
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Where(d => d.Length > 0).Select(d => Path.Combine(d, "dotnet-repl")));
        candidates.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-repl"));
        var local = Path.Combine(HostileInputCorpusTests.RepoRoot(), "artifacts", "tools");
        candidates.Add(Path.Combine(local, "dotnet-repl"));
        if (candidates.FirstOrDefault(File.Exists) is { } found) return found;
        var install = ChildProgram.Run("dotnet", ["tool", "install", "dotnet-repl", "--version", "0.3.259", "--tool-path", local],
            HostileInputCorpusTests.RepoRoot(), NuGetPackageTests.ChildBuildEnvironment(), TimeSpan.FromMinutes(10));
        return File.Exists(Path.Combine(local, "dotnet-repl")) ? Path.Combine(local, "dotnet-repl") : throw new FileNotFoundException(
            $"dotnet-repl not found ($DOTNET_REPL, PATH, ~/.dotnet/tools) and `dotnet tool install dotnet-repl --version 0.3.259 --tool-path {local}` failed " +
            $"(exit {install.ExitCode}):\n{install.Output}");
    }
}
