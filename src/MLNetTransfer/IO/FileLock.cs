namespace MLNetTransfer.IO;

/// <summary>
/// An exclusive lock between processes on a lock file (the runtime takes an advisory <c>flock</c> for
/// <see cref="FileShare.None"/> on Unix and a sharing lock on Windows). The operating system releases it when the holder
/// exits, even when killed, so a crashed download never blocks the next run. The lock file is left in place: deleting it
/// would let a third process lock a new file while a second still waits on the old one.
/// </summary>
internal sealed class FileLock : IDisposable
{
    private readonly FileStream stream;

    private FileLock(FileStream stream) => this.stream = stream;

    /// <summary>
    /// Takes the lock, polling every quarter second while another process holds it; <paramref name="onWait"/> is called
    /// once when the first attempt finds it taken.
    /// </summary>
    /// <exception cref="TimeoutException">Still held by another process after <paramref name="timeout"/>; names the file.</exception>
    public static FileLock Acquire(string path, TimeSpan timeout, Action? onWait = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        bool waited = false;
        while (true)
        {
            try { return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1)); }
            catch (IOException) when (File.Exists(path) && DateTime.UtcNow < deadline)
            {
                if (!waited) onWait?.Invoke();
                waited = true;
                Thread.Sleep(250);
            }
            catch (IOException) when (File.Exists(path))
            {
                throw new TimeoutException($"{path}: another process has held this lock for more than {timeout.TotalMinutes:0.#} min; if none is running, delete the file.");
            }
        }
    }

    public void Dispose() => stream.Dispose();
}
