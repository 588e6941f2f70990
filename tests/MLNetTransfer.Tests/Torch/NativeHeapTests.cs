using System.Runtime.InteropServices;
using MLNetTransfer.Torch;

namespace MLNetTransfer.Tests.Torch;

// In "heavy" with every test that fine-tunes in this process: a training run holds a scope and would see the
// measurement's settings for a moment.
[Collection("heavy")]
public class NativeHeapTests
{
    private const int Block = 8 << 20, Rounds = 5, PageSize = 4096;

    [Fact]
    public void Retaining_settings_reuse_freed_blocks_that_the_defaults_fault_in_again()
    {
        // The settings are process-wide, so the test applies both sets itself rather than trusting what ran before,
        // and puts back what the open scopes need when it ends.
        // A training run on another thread cannot open or close a scope meanwhile.
        int openScopes = 0;
        long outside = 0, inside = 0;
        NativeHeap.WhileScopesHeld(() =>
        {
            openScopes = NativeHeap.OpenScopes;
            try
            {
                NativeHeap.ApplyDefaults(); // fixed 128 KiB thresholds: an 8 MiB block is mapped per malloc, unmapped per free
                outside = FaultsWhileCycling();
                NativeHeap.ApplyRetaining();
                inside = FaultsWhileCycling();
            }
            finally
            {
                if (openScopes > 0) NativeHeap.ApplyRetaining(); else NativeHeap.ApplyDefaults();
            }
        });
        int pagesPerBlock = Block / PageSize;
        // Page faults of this thread only (other tests allocate on other threads): every round faults the block in
        // with the defaults; with the retaining settings only the first round does.
        Assert.True(outside >= (Rounds - 1) * pagesPerBlock, $"defaults: {outside} faults for {Rounds} rounds of {pagesPerBlock} pages ({openScopes} scopes open)");
        Assert.True(inside <= 2 * pagesPerBlock, $"retaining: {inside} faults for {Rounds} rounds of {pagesPerBlock} pages");
    }

    [Fact]
    public void Scopes_are_counted_and_disposing_twice_releases_once()
    {
        var a = NativeHeap.RetainFreedMemory();
        int baseline = NativeHeap.OpenScopes;
        var b = NativeHeap.RetainFreedMemory();
        Assert.Equal(baseline + 1, NativeHeap.OpenScopes);
        b.Dispose();
        b.Dispose();
        Assert.Equal(baseline, NativeHeap.OpenScopes);
        a.Dispose();
    }

    private static long FaultsWhileCycling()
    {
        long before = MinorFaultsOfThisThread();
        for (int r = 0; r < Rounds; r++)
        {
            var p = Marshal.AllocHGlobal(Block); // malloc on Linux
            for (int i = 0; i < Block; i += PageSize) Marshal.WriteByte(p, i, 1); // touch every page
            Marshal.FreeHGlobal(p);
        }
        return MinorFaultsOfThisThread() - before;
    }

    private static long MinorFaultsOfThisThread()
    {
        var usage = new long[18]; // struct rusage: two timevals, then ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ...
        if (getrusage(1 /* RUSAGE_THREAD */, usage) != 0) throw new InvalidOperationException("getrusage failed");
        return usage[8];
    }

    [DllImport("libc")]
    private static extern int getrusage(int who, long[] usage);
}
