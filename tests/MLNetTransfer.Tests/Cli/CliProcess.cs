using System.Diagnostics;
using System.Text;

namespace MLNetTransfer.Tests.Cli;

/// <summary>Runs the real <c>mlnet-transfer</c> (built next to the tests) as a child process.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => Wait(Start(args));

    /// <summary>Runs the CLI with these environment variables changed (a null value removes the variable).</summary>
    public static Result Run(IReadOnlyDictionary<string, string?> environment, params string[] args) => Wait(Start(environment, args));

    /// <summary>
    /// Runs a CLI command that finds the assets through <c>MLNETTRANSFER_ASSETS</c> alone (no asset path among its
    /// arguments, such as <c>demo</c>): fails at once, naming the variable, when there are none.
    /// </summary>
    public static Result RunWithAssets(params string[] args) => Run(new Dictionary<string, string?> { [TestAssets.Variable] = TestAssets.Root }, args);

    /// <summary>Starts the CLI and returns at once, output being collected; see <see cref="Wait"/>.</summary>
    public static Running Start(params string[] args) => Launch("dotnet", [CliDll, .. args]);

    /// <summary>Starts the CLI with these environment variables changed (a null value removes the variable).</summary>
    public static Running Start(IReadOnlyDictionary<string, string?> environment, params string[] args) => Launch("dotnet", [CliDll, .. args], environment: environment);

    /// <summary>Runs the CLI in <paramref name="workingDirectory"/> with <paramref name="environment"/> overriding the test's variables.</summary>
    public static Result RunIn(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Wait(Launch("dotnet", [CliDll, .. args], workingDirectory, environment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value)));

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

    private static Running Launch(string file, string[] args, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        // The child gets the assets when there are any; a command that needs them and finds none fails with its own message.
        if (TestAssets.RootIfAvailable is { } assets) start.Environment[TestAssets.Variable] = assets;
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) start.Environment.Remove(name); else start.Environment[name] = value;
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
