namespace MLNetTransfer.Tests;

/// <summary>
/// Busy loops on <c>n</c> threads for the life of the object, the in-process equivalent of <c>yes &gt; /dev/null</c>
/// beside the code under test: races and native crashes that hide on an idle machine show up under it.
/// </summary>
internal sealed class BusyCores : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Thread[] threads;

    public BusyCores(int n)
    {
        threads = [.. Enumerable.Range(0, n).Select(_ => new Thread(Spin) { IsBackground = true, Priority = ThreadPriority.Normal })];
        foreach (var t in threads) t.Start();
    }

    private void Spin()
    {
        ulong x = 1;
        while (!stop.IsCancellationRequested)
            for (int i = 0; i < 100_000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
        GC.KeepAlive(x);
    }

    public void Dispose()
    {
        stop.Cancel();
        foreach (var t in threads) t.Join();
        stop.Dispose();
    }
}
