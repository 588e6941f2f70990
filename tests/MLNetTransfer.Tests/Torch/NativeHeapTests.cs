using MLNetTransfer.Torch;

namespace MLNetTransfer.Tests.Torch;

// What the settings buy (training throughput, page faults) depends on the heap's history, so it is measured by the
// benchmark (bench resnet18-torch against --trim-heap, docs/benchmarks.md); an early version of this test counted
// page faults and failed in a full run, where free chunks left by earlier tests served the blocks without any fault.
// These tests check what does not depend on history: glibc accepts every value, and scopes are counted.
// In "heavy" with every test that fine-tunes in this process, so no training opens or closes a scope meanwhile.
[Collection("heavy")]
public class NativeHeapTests
{
    [Fact]
    public void Glibc_accepts_the_retaining_settings_and_the_defaults_come_back_when_the_last_scope_closes()
    {
        var outer = NativeHeap.RetainFreedMemory();
        Assert.True(NativeHeap.LastSettingsAccepted, "mallopt refused a retaining value");
        var inner = NativeHeap.RetainFreedMemory();
        inner.Dispose();
        outer.Dispose();
        Assert.Equal(0, NativeHeap.OpenScopes);
        Assert.True(NativeHeap.LastSettingsAccepted, "mallopt refused a default value");
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
}
