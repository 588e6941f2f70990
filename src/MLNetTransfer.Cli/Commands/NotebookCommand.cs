using System.CommandLine;
using MLNetTransfer.Cli.Notebooks;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>notebook run FILE [--save-outputs]</c>: runs a C# notebook's cells with Roslyn scripting.</summary>
internal static class NotebookCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The .ipynb notebook" };
        var save = new Option<bool>("--save-outputs") { Description = "Write cell outputs (text, PNG) back into the notebook" };
        var run = new Command("run", "Run the C# cells in order; exit 1 at the first cell that throws") { file, save };
        run.SetAction(result => CliRunner.Guard(() =>
        {
            var cells = new NotebookRunner { SaveOutputs = result.GetValue(save) }.Run(result.GetValue(file)!);
            foreach (var cell in cells)
            {
                Console.WriteLine($"--- cell {cell.Index + 1}{(cell.Images.Count > 0 ? $" ({cell.Images.Count} image(s))" : "")}");
                if (cell.Output.Length > 0) Console.Write(cell.Output);
                if (cell.Error is { } e)
                {
                    Console.Error.WriteLine($"error: {result.GetValue(file)}: cell {cell.Index + 1} threw {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                    return ExitCodes.Failure;
                }
            }
            Console.WriteLine($"{cells.Count} code cells ran");
            return ExitCodes.Ok;
        }));
        return new Command("notebook", "C# notebooks") { run };
    }
}
