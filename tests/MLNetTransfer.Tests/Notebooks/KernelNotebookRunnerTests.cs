using System.Text.Json.Nodes;
using MLNetTransfer.Tests.Cli;

namespace MLNetTransfer.Tests.Notebooks;

/// <summary>
/// <c>mlnet-transfer notebook run</c> hosts the real .NET Interactive C# kernel: state is shared between cells, text
/// and values come back as the kernel formats them, the first failing cell stops the run with its number and error,
/// and <c>--save-outputs</c> writes the outputs into the notebook. Runs the CLI in a child process.
/// </summary>
public class KernelNotebookRunnerTests
{
    private static string Notebook(params string[] cells) => new JsonObject
    {
        ["cells"] = new JsonArray([.. cells.Select(c => (JsonNode)new JsonObject
        {
            ["cell_type"] = "code",
            ["metadata"] = new JsonObject { ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" } },
            ["execution_count"] = null,
            ["outputs"] = new JsonArray(),
            ["source"] = c,
        })]),
        ["metadata"] = new JsonObject { ["kernelspec"] = new JsonObject { ["name"] = ".net-csharp", ["language"] = "C#", ["display_name"] = ".NET (C#)" } },
        ["nbformat"] = 4,
        ["nbformat_minor"] = 5,
    }.ToJsonString();

    private static JsonArray Outputs(string path, int cell) =>
        JsonNode.Parse(File.ReadAllText(path))!["cells"]![cell]!["outputs"]!.AsArray();

    [Fact]
    public void Cells_share_state_outputs_are_saved_and_the_first_failing_cell_stops_the_run_by_number()
    {
        using var dir = new TempDir();
        var path = dir.Combine("nb.ipynb");
        File.WriteAllText(path, Notebook("var x = 40 + 2;\nx", "Console.WriteLine($\"hello {x}\");", "throw new InvalidOperationException(\"boom \" + x);", "x + 1"));

        var result = CliProcess.Run("notebook", "run", path, "--save-outputs");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{path}: code cell 3 failed", result.Stderr);
        Assert.Contains("boom 42", result.Stderr);
        Assert.Contains("hello 42", result.Stdout);
        Assert.Contains("42", Outputs(path, 0).ToJsonString());                     // the kernel's formatting of the return value
        Assert.Equal("hello 42\n", string.Concat(Outputs(path, 1).Single()!["text"]!.AsArray().Select(l => (string?)l)));
        Assert.Equal("error", (string?)Outputs(path, 2).Single()!["output_type"]);
        Assert.Empty(Outputs(path, 3));                                             // never ran
    }

    [Fact]
    public void A_compile_error_names_the_cell_and_the_compiler_message()
    {
        using var dir = new TempDir();
        var path = dir.Combine("bad.ipynb");
        File.WriteAllText(path, Notebook("int y = 1;", "int z = \"text\";"));

        var result = CliProcess.Run("notebook", "run", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("code cell 2 failed", result.Stderr);
        Assert.Contains("CS0029", result.Stderr);
        Assert.Contains("\"outputs\": []", File.ReadAllText(path).Replace("\"outputs\":[]", "\"outputs\": []"));   // not saved without --save-outputs
    }
}
