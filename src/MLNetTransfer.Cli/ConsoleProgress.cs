using Spectre.Console;

namespace MLNetTransfer.Cli;

/// <summary>Spectre.Console progress bars, or nothing with --quiet or when output is redirected.</summary>
internal static class ConsoleProgress
{
    /// <summary>Runs <paramref name="work"/> with one progress task; the callback reports items done.</summary>
    public static T Run<T>(bool quiet, string description, long total, Func<Action<long>, T> work)
    {
        if (quiet || Console.IsOutputRedirected)
            return work(_ => { });
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, maxValue: Math.Max(1, total));
                result = work(done => task.Value = Math.Min(done, total));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>A line for the user unless quiet.</summary>
    public static void Info(bool quiet, string message)
    {
        if (!quiet) Console.WriteLine(message);
    }
}
