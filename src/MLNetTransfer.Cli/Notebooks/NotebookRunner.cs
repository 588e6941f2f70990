using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace MLNetTransfer.Cli.Notebooks;

/// <summary>One executed code cell: its text output, PNG images it showed, and the error if it threw.</summary>
public sealed record CellResult(int Index, string Output, IReadOnlyList<byte[]> Images, Exception? Error);

/// <summary>
/// Runs the C# cells of a Jupyter notebook (.NET Interactive style) in order with Roslyn scripting, sharing state between
/// cells as a kernel would. <c>#r "nuget: MLNetTransfer…"</c> lines map to the build this runner ships with; other
/// <c>#r</c> lines are refused. Cells call <c>display(x)</c> to show a value or a PNG file path; the last expression of a
/// cell is shown too. With <see cref="SaveOutputs"/>, outputs are written back into the .ipynb (atomically).
/// </summary>
public sealed class NotebookRunner
{
    /// <summary>Write cell outputs back into the notebook file.</summary>
    public bool SaveOutputs { get; init; }

    /// <summary>Runs every code cell; stops at the first cell that throws (its result carries the error).</summary>
    public IReadOnlyList<CellResult> Run(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: notebook not found.", path);
        JsonNode notebook;
        try { notebook = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty notebook."); }
        catch (System.Text.Json.JsonException ex) { throw new InvalidDataException($"{path}: not a notebook ({ex.Message}).", ex); }
        var cells = notebook["cells"]?.AsArray() ?? throw new InvalidDataException($"{path}: no cells.");
        var options = ScriptOptions.Default
            .AddReferences(typeof(Microsoft.ML.MLContext).Assembly, typeof(Microsoft.ML.IDataView).Assembly, typeof(Microsoft.ML.Data.TextLoader).Assembly,
                typeof(MLNetTransfer.FeaturizationCatalog).Assembly, typeof(Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer).Assembly,
                typeof(NotebookGlobals).Assembly, typeof(TorchSharp.torch).Assembly)
            .AddImports("System", "System.IO", "System.Linq", "System.Collections.Generic", "Microsoft.ML", "MLNetTransfer",
                "MLNetTransfer.Data", "MLNetTransfer.Evaluation", "MLNetTransfer.Training", "MLNetTransfer.Insight", "MLNetTransfer.Backbones");
        var globals = new NotebookGlobals(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var results = new List<CellResult>();
        ScriptState<object>? state = null;
        int index = 0;
        foreach (var cell in cells)
        {
            if (cell?["cell_type"]?.GetValue<string>() != "code") continue;
            var source = Source(cell["source"]);
            var code = Prepare(source, path, index);
            globals.BeginCell();
            var writer = new StringWriter();
            var previous = Console.Out;
            Console.SetOut(writer);
            Exception? error = null;
            try
            {
                state = state is null
                    ? CSharpScript.RunAsync(code, options, globals, typeof(NotebookGlobals)).GetAwaiter().GetResult()
                    : state.ContinueWithAsync(code, options).GetAwaiter().GetResult();
                if (state.ReturnValue is { } value) globals.display(value);
            }
            catch (Exception ex) { error = ex; }
            finally { Console.SetOut(previous); }
            var output = writer.ToString() + globals.Text;
            var result = new CellResult(index, output, [.. globals.Images], error);
            results.Add(result);
            WriteOutputs(cell, result);
            index++;
            if (error is not null) break;
        }
        if (SaveOutputs) IO.AtomicFile.WriteAllText(path, notebook.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return results;
    }

    private static string Source(JsonNode? source) => source switch
    {
        JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    };

    // `#r "nuget: MLNetTransfer"` is what a user types in .NET Interactive; here the library is already referenced.
    private static string Prepare(string source, string path, int index)
    {
        var sb = new StringBuilder();
        foreach (var line in source.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("#r ", StringComparison.Ordinal) || trimmed.StartsWith("#!", StringComparison.Ordinal))
            {
                if (trimmed.Contains("nuget: MLNetTransfer", StringComparison.OrdinalIgnoreCase) || trimmed.Contains("nuget:Microsoft.ML", StringComparison.OrdinalIgnoreCase)
                    || trimmed.Contains("nuget: Microsoft.ML", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("#!", StringComparison.Ordinal))
                    continue;
                throw new InvalidDataException($"{path}: code cell {index + 1}: '{trimmed}' is not available offline; only MLNetTransfer and ML.NET are.");
            }
            sb.Append(line).Append('\n');
        }
        return sb.ToString();
    }

    private static void WriteOutputs(JsonNode cell, CellResult result)
    {
        var outputs = new JsonArray();
        if (result.Output.Length > 0)
            outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = result.Output });
        foreach (var png in result.Images)
            outputs.Add(new JsonObject
            {
                ["output_type"] = "display_data",
                ["data"] = new JsonObject { ["image/png"] = Convert.ToBase64String(png) },
                ["metadata"] = new JsonObject(),
            });
        if (result.Error is { } e)
            outputs.Add(new JsonObject { ["output_type"] = "error", ["ename"] = e.GetType().Name, ["evalue"] = e.Message, ["traceback"] = new JsonArray() });
        cell["outputs"] = outputs;
    }
}

/// <summary>What notebook cells can call: <c>display</c>, the notebook folder, and the small-data switch.</summary>
public sealed class NotebookGlobals(string folder)
{
    private readonly StringBuilder text = new();
    private readonly List<byte[]> images = [];

    /// <summary>The notebook's folder (relative paths in cells resolve against the process folder; use this).</summary>
    public string NotebookFolder { get; } = folder;

    /// <summary>True when MLNETTRANSFER_NOTEBOOK_SMALL=1: cells use small subsets so CI runs each notebook quickly.</summary>
    public bool Small { get; } = Environment.GetEnvironmentVariable("MLNETTRANSFER_NOTEBOOK_SMALL") == "1";

    internal string Text => text.ToString();
    internal IReadOnlyList<byte[]> Images => images;

    internal void BeginCell()
    {
        text.Clear();
        images.Clear();
    }

    /// <summary>Shows a value; a path to a .png file is shown as the image.</summary>
#pragma warning disable IDE1006 // .NET Interactive's name
    public void display(object? value)
#pragma warning restore IDE1006
    {
        if (value is string s && s.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && File.Exists(s)) images.Add(File.ReadAllBytes(s));
        else text.AppendLine(value switch
        {
            null => "null",
            MLNetTransfer.Evaluation.ClassificationReport r => $"accuracy {r.Accuracy:F4}, macro F1 {r.MacroF1:F4}, {r.Count} images",
            System.Collections.IEnumerable e and not string => string.Join(Environment.NewLine, e.Cast<object?>().Select(x => x?.ToString())),
            _ => value.ToString(),
        });
    }
}
