using System.Diagnostics;

namespace MLNetTransfer.Tests.Reliability;

/// <summary>
/// A folder made read-only or tiny for a test. As root (CI) a real tmpfs is mounted on it (read-only, or a few KB so
/// writes fail with ENOSPC); without mount rights, a read-only folder is chmod 555 (effective for non-root users) and
/// <see cref="Tiny"/> returns null (the caller then simulates the failed write). <see cref="How"/> says which, for the log.
/// (<c>ulimit -f</c> was tried as an unprivileged full disk: the .NET runtime itself then fails to start.)
/// </summary>
internal sealed class ScratchMount : IDisposable
{
    private readonly string path;
    private readonly bool mounted;

    private ScratchMount(string path, bool mounted, string how, string errorText)
    {
        this.path = path;
        this.mounted = mounted;
        How = how;
        ErrorText = errorText;
    }

    /// <summary>How the condition was produced.</summary>
    public string How { get; }

    /// <summary>The operating system's message for a failed write here.</summary>
    public string ErrorText { get; }

    public static ScratchMount ReadOnly(string path)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            return new ScratchMount(path, false, "chmod 555", "Permission denied");
        }
        if (Mount(path, "ro,size=64k")) return new ScratchMount(path, true, "a read-only tmpfs mount", "Read-only file system");
        throw new InvalidOperationException($"cannot make {path} read-only: running as root without the right to mount a tmpfs (CAP_SYS_ADMIN).");
    }

    /// <summary>A tmpfs of <paramref name="kilobytes"/> on <paramref name="path"/>, or null without the right to mount.</summary>
    public static ScratchMount? Tiny(string path, int kilobytes) =>
        Mount(path, $"size={kilobytes}k") ? new ScratchMount(path, true, $"a {kilobytes} KB tmpfs mount", "No space left on device") : null;

    public void Dispose()
    {
        if (mounted) Exec("umount", "-l", path);
        else File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static bool Mount(string path, string options) => Exec("mount", "-t", "tmpfs", "-o", options, "tmpfs", path);

    private static bool Exec(string file, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var p = Process.Start(start)!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; } // no mount binary
    }
}
