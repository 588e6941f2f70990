using MLNetTransfer.Backbones;

namespace MLNetTransfer.Cli;

/// <summary>
/// The download bar on stderr (stdout carries results): bytes, rate and time left, redrawn in place on a terminal;
/// when stderr is redirected, one line per quarter and one when complete, so logs stay short.
/// </summary>
internal sealed class DownloadProgressLine
{
    private readonly bool interactive = !Console.IsErrorRedirected;
    private int lastQuarter = -1;

    /// <summary>Download options that draw the bar and print notes, or silent ones for --quiet.</summary>
    public static DownloadOptions Options(bool quiet)
    {
        if (quiet) return new DownloadOptions();
        var line = new DownloadProgressLine();
        return new DownloadOptions { Progress = line.Draw, Log = message => Console.Error.WriteLine(message) };
    }

    private void Draw(DownloadProgress p)
    {
        var text = Format(p);
        if (interactive)
        {
            Console.Error.Write("\r" + text.PadRight(Math.Max(text.Length, 90)));
            if (p.Completed) Console.Error.WriteLine();
            return;
        }
        int quarter = p.Total is long t && t > 0 ? (int)(4 * p.Received / t) : 0;
        if (p.Completed || quarter > lastQuarter) Console.Error.WriteLine(text);
        lastQuarter = quarter;
    }

    /// <summary>One line: <c>NAME [#####.....] 42% 68.3/162.2 MiB 5.1 MiB/s ETA 0:18</c>.</summary>
    internal static string Format(DownloadProgress p)
    {
        const int width = 24;
        string bar = "", percent = "", size = Mib(p.Received);
        if (p.Total is long total && total > 0)
        {
            double f = Math.Clamp((double)p.Received / total, 0, 1);
            int filled = (int)(f * width);
            bar = $"[{new string('#', filled)}{new string('.', width - filled)}] ";
            percent = $"{f * 100,3:0}% ";
            size = $"{Mib(p.Received)}/{Mib(total)}";
        }
        var eta = p.Completed ? "done" : p.Remaining is TimeSpan r ? $"ETA {(int)r.TotalMinutes}:{r.Seconds:00}" : "ETA ?";
        var rate = p.BytesPerSecond >= 1 << 20 ? $"{p.BytesPerSecond / (1 << 20):0.0} MiB/s" : $"{p.BytesPerSecond / 1024:0} KiB/s";
        return $"downloading {p.Asset} {bar}{percent}{size} MiB  {rate}  {eta}";
    }

    private static string Mib(long bytes) => (bytes / (double)(1 << 20)).ToString("0.0");
}
