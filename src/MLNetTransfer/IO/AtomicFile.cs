namespace MLNetTransfer.IO;

/// <summary>
/// Writes files so that a crash never leaves a half-written one: the bytes go to a temp file in the same folder,
/// are flushed to disk, then renamed over the target (atomic on one file system). A process killed mid-write leaves
/// only its hidden temp file (<c>.NAME.PID.GUID.tmp</c>), which is never read and which the next write of the same
/// target removes once its process is gone.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes through a stream callback, then renames into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        RemoveStaleTemps(full);
        var temp = TempPathFor(full);
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            try
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            catch
            {
                try { stream.Dispose(); } catch (IOException) { } // a full disk also refuses the buffered rest
                throw;
            }
            stream.Dispose();
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes all bytes atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Writes UTF-8 text atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>A fresh hidden temp path beside <paramref name="target"/>, tagged with this process's id.</summary>
    public static string TempPathFor(string target)
    {
        var full = Path.GetFullPath(target);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>
    /// Deletes temp files of <paramref name="target"/> left by processes that no longer run (killed mid-write); temp files
    /// of live processes, including this one, are left alone.
    /// </summary>
    public static void RemoveStaleTemps(string target)
    {
        var full = Path.GetFullPath(target);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return;
        var prefix = $".{Path.GetFileName(full)}.";
        foreach (var temp in Directory.EnumerateFiles(dir, prefix + "*.tmp"))
        {
            var parts = Path.GetFileName(temp)[prefix.Length..].Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[0], out var pid) || IsAlive(pid)) continue;
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    // /proc tells on Linux without the cost of a Process object; elsewhere ask the runtime.
    internal static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
