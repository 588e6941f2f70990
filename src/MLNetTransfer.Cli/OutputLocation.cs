namespace MLNetTransfer.Cli;

/// <summary>
/// Checks, before any work starts, that an output folder can be written: a read-only file system, a missing permission
/// or a path through a regular file is a one-line bad-input error at once, not a failure after an hour of training.
/// Nothing is created: the probe file goes into the nearest existing folder and is deleted.
/// </summary>
internal static class OutputLocation
{
    /// <summary>Requires that <paramref name="folder"/> exists and is writable, or can be created.</summary>
    public static void RequireWritableFolder(string folder, string option)
    {
        var full = Path.GetFullPath(folder);
        if (File.Exists(full)) throw new BadInputException($"{option} {folder}: is a file, not a folder.");
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new BadInputException($"{option} {folder}: cannot create it, '{existing}' is a file.");
            existing = Path.GetDirectoryName(existing) ?? throw new BadInputException($"{option} {folder}: no existing parent folder.");
        }
        var probe = Path.Combine(existing, $".mlnt-write-probe-{Environment.ProcessId}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{option} {folder}: not writable ({ex.Message.TrimEnd('.')} in {existing}).");
        }
    }

    /// <summary>Requires that the folder of the output file <paramref name="file"/> is writable and the path is not a folder.</summary>
    public static void RequireWritableFile(string file, string option)
    {
        var full = Path.GetFullPath(file);
        if (Directory.Exists(full)) throw new BadInputException($"{option} {file}: is a folder, expected a file name.");
        RequireWritableFolder(Path.GetDirectoryName(full)!, option);
    }
}
