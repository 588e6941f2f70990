using System.Diagnostics;
using System.Text;

namespace MLNetTransfer.Tests;

/// <summary>
/// Scenarios that may crash the process run in a child process (this test assembly started with
/// <c>dotnet MLNetTransfer.Tests.dll SCENARIO ARGS</c>), so a native crash fails one test with its signal instead of
/// taking the whole test run down.
/// </summary>
internal static class TestChild
{
    private static readonly Dictionary<string, Func<string[], int>> scenarios = new()
    {
        ["onnx-gc-stress"] = Featurization.OnnxBatchRunnerStress.Run,
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var scenario))
        {
            Console.Error.WriteLine($"usage: MLNetTransfer.Tests SCENARIO [ARGS]; scenarios: {string.Join(", ", scenarios.Keys)}");
            return 2;
        }
        return scenario(args[1..]);
    }

    /// <summary>Runs a scenario in a child process and waits (at most <paramref name="timeout"/>).</summary>
    public static Cli.CliProcess.Result Run(TimeSpan timeout, string scenario, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(TestChild).Assembly.Location);
        start.ArgumentList.Add(scenario);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout)) { process.Kill(true); throw new TimeoutException($"child scenario {scenario} did not finish in {timeout}"); }
        process.WaitForExit();
        return new Cli.CliProcess.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Describes an exit code the way a shell does: 139 is SIGSEGV, 136 SIGFPE, 134 SIGABRT.</summary>
    public static string Describe(int exitCode) => exitCode switch
    {
        0 => "exit 0",
        134 => "killed by SIGABRT (134)",
        136 => "killed by SIGFPE (136)",
        139 => "killed by SIGSEGV (139)",
        _ => $"exit {exitCode}",
    };
}
