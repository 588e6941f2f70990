using System.Runtime.InteropServices;
using MLNetTransfer.Torch;

namespace MLNetTransfer.Tests.Torch;

// In "heavy" with every test that fine-tunes in this process: a training run holds a scope, which would change the
// thresholds under the measurement.
[Collection("heavy")]
public class NativeHeapTests
{
    private const int Block = 8 << 20, Rounds = 5, PageSize = 4096;

    [Fact]
    public void Inside_a_scope_freed_blocks_are_reused_instead_of_faulted_in_again()
    {
        // Open and close a scope first: glibc then runs with fixed default thresholds (128 KiB), so an 8 MiB block is
        // mapped on every malloc and unmapped on every free, whatever this process did before.
        NativeHeap.RetainFreedMemory().Dispose();
        long outside = FaultsWhileCycling();
        long inside;
        using (NativeHeap.RetainFreedMemory()) inside = FaultsWhileCycling();
        Assert.Equal(0, NativeHeap.OpenScopes);
        int pagesPerBlock = Block / PageSize;
        // Page faults of this thread only (other tests allocate on other threads): every round faults the block in
        // outside the scope; inside, only the first round does.
        Assert.True(outside >= (Rounds - 1) * pagesPerBlock, $"outside: {outside} faults for {Rounds} rounds of {pagesPerBlock} pages");
        Assert.True(inside <= 2 * pagesPerBlock, $"inside: {inside} faults for {Rounds} rounds of {pagesPerBlock} pages");
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
