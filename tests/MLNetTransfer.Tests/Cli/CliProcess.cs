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

    /// <summary>
    /// Runs another program (e.g. dotnet-repl) the same way, in <paramref name="workingDirectory"/>, with stdin closed and
    /// the given environment changes (a null value removes the variable).
    /// </summary>
    public static Result RunProgram(string file, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout) =>
        Wait(Launch(file, [.. args], workingDirectory, environment), timeout);

    public static Result Wait(Running running) => Wait(running, TimeSpan.FromMinutes(10));

    private static Result Wait(Running running, TimeSpan timeout)
    {
        var p = running.Process;
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"{p.StartInfo.FileName} did not finish in {timeout.TotalMinutes:F0} minutes"); }
        p.WaitForExit(); // drains the output events
        var result = new Result(p.ExitCode, running.Stdout.ToString(), running.Stderr.ToString());
        p.Dispose();
        return result;
    }

    /// <summary>A started CLI process with its output so far.</summary>
    public sealed record Running(Process Process, StringBuilder Stdout, StringBuilder Stderr);

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "mlnet-transfer.dll");

    private static Running Launch(string file, string[] args, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) start.Environment.Remove(key); else start.Environment[key] = value;
        var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();   // nothing reads a prompt answer: a tool waiting for input ends instead
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Running(process, stdout, stderr);
    }
}
