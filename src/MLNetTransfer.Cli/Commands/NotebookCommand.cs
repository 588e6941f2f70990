using System.CommandLine;
using MLNetTransfer.Cli.Notebooks;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>notebook run FILE [--save-outputs]</c>: runs a C# notebook in the .NET Interactive C# kernel.</summary>
internal static class NotebookCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The .ipynb notebook" };
        var save = new Option<bool>("--save-outputs") { Description = "Write the kernel's outputs (text, HTML, images, errors) back into the notebook" };
        var run = new Command("run", "Run the C# cells in order in the .NET Interactive kernel; exit 1 at the first cell that fails") { file, save };
        run.SetAction(result => CliRunner.Guard(() =>
        {
            var path = result.GetValue(file)!;
            string? failure = null;
            void Report(CellRun cell)
            {
                Console.WriteLine($"--- cell {cell.Number}{(cell.Displays > 0 ? $" ({cell.Displays} displayed value(s))" : "")}");
                if (cell.Text.Length > 0) Console.Write(cell.Text.EndsWith('\n') ? cell.Text : cell.Text + "\n");
                if (cell.Error is { } e) failure = $"error: {path}: code cell {cell.Number} failed: {e.ReplaceLineEndings(" ")}";
            }
            var cells = new KernelNotebookRunner { SaveOutputs = result.GetValue(save), CellFinished = Report }.RunAsync(path).GetAwaiter().GetResult();
            if (failure is not null)
            {
                Console.Error.WriteLine(failure);
                return ExitCodes.Failure;
            }
            Console.WriteLine($"{cells.Count} code cells ran");
            return ExitCodes.Ok;
        }));
        return new Command("notebook", "C# notebooks") { run };
    }
}
