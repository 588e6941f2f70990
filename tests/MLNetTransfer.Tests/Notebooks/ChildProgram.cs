using System.Diagnostics;

namespace MLNetTransfer.Tests.Notebooks;

/// <summary>Runs a program (dotnet, dotnet-repl) to completion with stdin closed and its output collected.</summary>
internal static class ChildProgram
{
    public sealed record Result(int ExitCode, string Output);

    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    public static Result Run(string file, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        foreach (var (key, value) in environment)
            if (value is null) start.Environment.Remove(key); else start.Environment[key] = value;
        using var p = Process.Start(start)!;
        p.StandardInput.Close();   // nothing answers a prompt: a tool waiting for input ends instead of hanging
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout.TotalMinutes:F0} minutes"); }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }
}
