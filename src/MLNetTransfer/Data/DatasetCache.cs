using MLNetTransfer.IO;

namespace MLNetTransfer.Data;

/// <summary>
/// Builds a derived folder in the cache (extracted batches, images written out) at most once, and atomically: the content
/// is written into a hidden temp folder beside the target and renamed into place when complete, under a lock file, so a
/// crash leaves no half-built folder and two processes never build the same one at the same time.
/// </summary>
internal static class DatasetCache
{
    /// <summary>Returns <paramref name="target"/>, running <paramref name="build"/> on a fresh temp folder first if it does not exist.</summary>
    public static string BuildOnce(string target, Action<string> build, TimeSpan lockTimeout, Action<string>? log)
    {
        var full = Path.GetFullPath(target);
        if (Directory.Exists(full)) return full;
        var parent = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        try { Directory.CreateDirectory(parent); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UnauthorizedAccessException($"{parent}: the cache folder is not writable ({ex.Message.TrimEnd('.')}); set XDG_CACHE_HOME to a writable folder.", ex);
        }
        using var held = FileLock.Acquire(Path.Combine(parent, $".{name}.lock"), lockTimeout,
            () => log?.Invoke($"waiting for another process writing {full}"));
        if (Directory.Exists(full)) return full; // built by the process this one waited for
        foreach (var stale in Directory.EnumerateDirectories(parent, $".{name}.*.tmp")) Directory.Delete(stale, recursive: true); // killed builds; the lock says none is running
        var temp = Path.Combine(parent, $".{name}.{Environment.ProcessId}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            build(temp);
            Directory.Move(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
        return full;
    }

    /// <summary>
    /// Writes items as <c>root/LABEL/00000.png</c>, numbered in their order; <paramref name="encode"/> (PNG bytes and label)
    /// runs on all cores, the source being read in order.
    /// </summary>
    public static void WriteImageFolder<T>(string root, IEnumerable<T> items, Func<T, (byte[] Png, string Label)> encode)
    {
        var created = new HashSet<string>(StringComparer.Ordinal);
        Parallel.ForEach(items.Select((item, index) => (item, index)), entry =>
        {
            var (png, label) = encode(entry.item);
            var dir = Path.Combine(root, label);
            lock (created) if (created.Add(dir)) Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, $"{entry.index:D5}.png"), png);
        });
    }
}
