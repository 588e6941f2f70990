using System.CommandLine;
using MLNetTransfer.Backbones;

namespace MLNetTransfer.Cli;

/// <summary>Exit codes of the CLI contract.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;
}

/// <summary>An input problem the user must fix: exit code 2 with a one-line message naming the file.</summary>
internal sealed class BadInputException(string message) : Exception(message);

/// <summary>Parses, runs, and maps exceptions to the CLI's exit codes and one-line errors.</summary>
internal static class CliRunner
{
    public static int Run(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
            return ExitCodes.BadInput;
        }
        return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>Wraps a command body: known input errors → 2, anything else → 1, both as one line on stderr.</summary>
    public static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception ex) when (IsBadInput(ex))
        {
            Console.Error.WriteLine($"error: {OneLine(ex.Message)}");
            return ExitCodes.BadInput;
        }
        catch (Exception ex)
        {
            // Libraries wrap I/O failures (a full disk inside Parquet.Net or ML.NET's zip writer): show the cause too.
            var cause = ex.GetBaseException() is IOException io && !ex.Message.Contains(io.Message) ? $": {OneLine(io.Message)}" : "";
            Console.Error.WriteLine($"error: {OneLine(ex.Message)}{cause} ({ex.GetType().Name})");
            if (Environment.GetEnvironmentVariable("MLNETTRANSFER_DEBUG") == "1") Console.Error.WriteLine(ex);
            return ExitCodes.Failure;
        }
    }

    private static bool IsBadInput(Exception ex) => ex is BadInputException or FileNotFoundException or DirectoryNotFoundException
        or InvalidDataException or AssetNotFoundException or AssetIntegrityException or ArgumentException
        or UnauthorizedAccessException or Onnx.OnnxFormatException;

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
