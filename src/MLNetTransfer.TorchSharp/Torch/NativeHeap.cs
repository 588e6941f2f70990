using System.Runtime.InteropServices;

namespace MLNetTransfer.Torch;

/// <summary>
/// Keeps glibc from handing freed native memory back to the kernel while a training run lasts. libtorch allocates
/// every activation and gradient with malloc; by default glibc trims the top of its heap and unmaps large blocks as
/// soon as they are freed, so the next batch faults the same pages in again (zero-filled by the kernel), which costs
/// ResNet-18 at 96 px about a fifth of its training throughput on 2 cores (docs/benchmarks.md). Inside a
/// <see cref="RetainFreedMemory"/> scope freed blocks stay in the heap for reuse; when the last scope ends the defaults
/// come back and <c>malloc_trim</c> returns what is free. Process-wide, reference-counted, Linux glibc only (a no-op
/// elsewhere and on libcs without <c>mallopt</c>, such as musl).
/// </summary>
internal static class NativeHeap
{
    // mallopt parameters (malloc.h).
    private const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3;
    private const int DefaultThreshold = 128 * 1024; // glibc's initial M_TRIM_THRESHOLD, M_TOP_PAD and M_MMAP_THRESHOLD
    private static readonly Lock gate = new();
    private static int scopes;
    private static bool unavailable = !OperatingSystem.IsLinux();

    /// <summary>Number of open scopes (tests).</summary>
    internal static int OpenScopes { get { lock (gate) return scopes; } }

    /// <summary>Starts retaining freed memory; dispose the result when the run ends.</summary>
    public static IDisposable RetainFreedMemory()
    {
        lock (gate)
        {
            if (scopes++ == 0) ApplyRetaining();
        }
        return new Scope();
    }

    private static void Release()
    {
        lock (gate)
        {
            if (--scopes > 0) return;
            ApplyDefaults();
            if (!unavailable) try { malloc_trim(0); } catch (EntryPointNotFoundException) { }
        }
    }

    // Blocks up to 32 MiB (the ceiling of glibc's own dynamic threshold on 64-bit) come from the heap and are reused.
    // Larger ones, such as 224-px activations at batch 32 (about 100 MB each), are still mapped per allocation, which
    // bounds how much a run keeps; whether keeping those too pays was not measured on its own.
    private static void ApplyRetaining() => Apply((MmapThreshold, 32 << 20), (TrimThreshold, int.MaxValue), (TopPad, 64 << 20));

    private static void ApplyDefaults() => Apply((MmapThreshold, DefaultThreshold), (TrimThreshold, DefaultThreshold), (TopPad, DefaultThreshold));

    /// <summary>Whether glibc accepted every value of the last settings applied (mallopt returns 1); tests.</summary>
    internal static bool LastSettingsAccepted { get; private set; }

    private static void Apply(params (int Parameter, int Value)[] settings)
    {
        LastSettingsAccepted = false;
        if (unavailable) return;
        try
        {
            bool accepted = true;
            foreach (var (parameter, value) in settings) accepted &= mallopt(parameter, value) == 1;
            LastSettingsAccepted = accepted;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            unavailable = true; // not glibc: leave the allocator alone
        }
    }

    private sealed class Scope : IDisposable
    {
        private int disposed;
        public void Dispose() { if (Interlocked.Exchange(ref disposed, 1) == 0) Release(); }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
