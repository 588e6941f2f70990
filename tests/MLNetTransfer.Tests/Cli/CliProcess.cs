using System.Diagnostics;

namespace MLNetTransfer.Tests.Cli;

/// <summary>Runs the real <c>mlnet-transfer</c> (built next to the tests) as a child process.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-transfer.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10))) { process.Kill(true); throw new TimeoutException("mlnet-transfer did not finish in 10 minutes"); }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
