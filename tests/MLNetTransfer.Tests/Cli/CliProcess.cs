using System.Diagnostics;
using System.Text;

namespace MLNetTransfer.Tests.Cli;

/// <summary>Runs the real <c>mlnet-transfer</c> (built next to the tests) as a child process.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => Wait(Start(args));

    /// <summary>Starts the CLI and returns at once, output being collected; see <see cref="Wait"/>.</summary>
    public static Running Start(params string[] args) => Launch("dotnet", [CliDll, .. args]);

    public static Result Wait(Running running)
    {
        var p = running.Process;
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(true); throw new TimeoutException("mlnet-transfer did not finish in 10 minutes"); }
        p.WaitForExit(); // drains the output events
        var result = new Result(p.ExitCode, running.Stdout.ToString(), running.Stderr.ToString());
        p.Dispose();
        return result;
    }

    /// <summary>A started CLI process with its output so far.</summary>
    public sealed record Running(Process Process, StringBuilder Stdout, StringBuilder Stderr);

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "mlnet-transfer.dll");

    private static Running Launch(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Running(process, stdout, stderr);
    }
}
