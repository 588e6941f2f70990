using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;
using MLNetTransfer.IO;

namespace MLNetTransfer.Cli.Notebooks;

/// <summary>One executed code cell: the 1-based number among code cells, its text output and the error if it failed.</summary>
internal sealed record CellRun(int Number, string Text, int Displays, string? Error);

/// <summary>
/// Runs a Jupyter notebook's C# cells in order in the real .NET Interactive C# kernel (<see cref="CSharpKernel"/>, the
/// one Polyglot Notebooks, Jupyter and dotnet-repl use), hosted in this process: <c>#i</c>/<c>#r "nuget: ..."</c>
/// restore packages as in any kernel, <c>display()</c> works, and the kernel's outputs (text, HTML, images, errors)
/// replace the cells' outputs. Packages that carry a .NET Interactive extension
/// (<c>interactive-extensions/dotnet/extension.dib</c>, e.g. MLNetTransfer's formatters) have it run after the cell that
/// referenced them, as the dotnet-interactive and dotnet-repl hosts do. The working folder is the notebook's while it runs.
/// </summary>
/// <remarks>
/// Assemblies the CLI itself carries (MLNetTransfer, ML.NET, TorchSharp) are already loaded in this process; a package
/// with the same assembly identity resolves to those copies. The test suite therefore runs notebooks through
/// dotnet-repl in a child process, where nothing is preloaded.
/// </remarks>
internal sealed class KernelNotebookRunner
{
    /// <summary>Write the kernel's outputs back into the notebook file (atomically).</summary>
    public bool SaveOutputs { get; init; }

    /// <summary>Called as each cell finishes (long notebooks report progress).</summary>
    public Action<CellRun>? CellFinished { get; init; }

    /// <summary>Runs every C# cell; stops at the first failing one (its result carries the error).</summary>
    public async Task<IReadOnlyList<CellRun>> RunAsync(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{path}: notebook not found.", path);
        InteractiveDocument document;
        try { document = Notebook.Parse(await File.ReadAllTextAsync(full)); }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a Jupyter notebook ({ex.Message}).", ex);
        }

        var extensions = new List<string>();
        var loadedExtensions = new HashSet<string>(StringComparer.Ordinal);
        using var kernel = new CSharpKernel()
            .UseKernelHelpers()
            .UseValueSharing()
            .UseNugetDirective((k, references) =>
            {
                k.AddAssemblyReferences(references.SelectMany(r => r.AssemblyPaths));
                foreach (var r in references)
                {
                    var dib = Path.Combine(r.PackageRoot, "interactive-extensions", "dotnet", "extension.dib");
                    if (File.Exists(dib) && loadedExtensions.Add(dib)) extensions.Add(dib);
                }
                return Task.CompletedTask;
            });

        var previousFolder = Environment.CurrentDirectory;
        Environment.CurrentDirectory = Path.GetDirectoryName(full)!;
        var results = new List<CellRun>();
        try
        {
            int number = 0;
            foreach (var cell in document.Elements)
            {
                if (cell.KernelName is not (null or "csharp" or "C#")) continue;
                number++;
                var outputs = new List<InteractiveDocumentOutputElement>();
                var error = await SubmitAsync(kernel, cell.Contents, outputs);
                foreach (var dib in extensions)
                    error ??= await RunExtensionAsync(kernel, dib, outputs);
                extensions.Clear();
                cell.Outputs.Clear();
                cell.Outputs.AddRange(outputs);
                cell.ExecutionOrder = number;
                results.Add(new CellRun(number, string.Concat(outputs.OfType<TextElement>().Select(t => t.Text)),
                    outputs.Count(o => o is DisplayElement or ReturnValueElement), error));
                CellFinished?.Invoke(results[^1]);
                if (error is not null) break;
            }
        }
        finally { Environment.CurrentDirectory = previousFolder; }

        if (SaveOutputs) AtomicFile.WriteAllText(full, document.ToJupyterJson());
        return results;
    }

    // A .dib file is sections headed by "#!kernel-name" lines; the C# ones (and a headless first one) are submitted in order.
    private static async Task<string?> RunExtensionAsync(Kernel kernel, string dib, List<InteractiveDocumentOutputElement> outputs)
    {
        var sections = new List<(string Kernel, List<string> Lines)> { ("csharp", []) };
        foreach (var line in (await File.ReadAllTextAsync(dib)).Split('\n'))
        {
            if (line.StartsWith("#!", StringComparison.Ordinal)) sections.Add((line[2..].Trim(), []));
            else sections[^1].Lines.Add(line);
        }
        foreach (var (name, lines) in sections.Where(s => s.Kernel is "csharp" or "c#" or "C#"))
        {
            var code = string.Join('\n', lines);
            if (code.Trim().Length > 0 && await SubmitAsync(kernel, code, outputs) is { } error) return $"extension {dib}: {error}";
        }
        return null;
    }

    /// <summary>Submits one cell's code and turns the kernel's events into notebook outputs; returns the error, if any.</summary>
    private static async Task<string?> SubmitAsync(Kernel kernel, string code, List<InteractiveDocumentOutputElement> outputs)
    {
        var result = await kernel.SendAsync(new SubmitCode(code));
        string? error = null;
        var shown = new Dictionary<string, int>();   // value id -> index in outputs, so an update replaces what it updates
        foreach (var e in result.Events)
        {
            switch (e)
            {
                case DisplayedValueUpdated u when u.ValueId is { } id && shown.TryGetValue(id, out var at):
                    outputs[at] = new DisplayElement(Data(u));
                    break;
                case DisplayedValueProduced d when d.ValueId is { } id:
                    shown[id] = outputs.Count;
                    outputs.Add(new DisplayElement(Data(d)));
                    break;
                case StandardOutputValueProduced o: outputs.Add(new TextElement(PlainText(o), "stdout")); break;
                case StandardErrorValueProduced o: outputs.Add(new TextElement(PlainText(o), "stderr")); break;
                case ReturnValueProduced r: outputs.Add(ReturnValue(r)); break;
                case DisplayedValueUpdated: break;   // an update of a value shown by another submission
                case DisplayEvent d: outputs.Add(new DisplayElement(Data(d))); break;
                case CommandFailed f:
                    error = f.Exception is { } ex ? $"{ex.GetType().Name}: {ex.Message}" : f.Message;
                    outputs.Add(new ErrorElement(errorValue: error, errorName: f.Exception?.GetType().Name ?? "Error"));
                    break;
            }
        }
        return error;
    }

    // ReturnValueElement has no constructor taking the data in this version: fill its dictionary.
    private static ReturnValueElement ReturnValue(ReturnValueProduced r)
    {
        var element = new ReturnValueElement();
        foreach (var (mime, value) in Data(r)) element.Data[mime] = value;
        return element;
    }

    private static Dictionary<string, object> Data(DisplayEvent e) =>
        e.FormattedValues.Where(v => !v.SuppressDisplay).GroupBy(v => v.MimeType).ToDictionary(g => g.Key, g => (object)g.First().Value);

    private static string PlainText(DisplayEvent e) =>
        e.FormattedValues.FirstOrDefault(v => v.MimeType == PlainTextFormatter.MimeType)?.Value ?? e.FormattedValues.FirstOrDefault()?.Value ?? "";
}
