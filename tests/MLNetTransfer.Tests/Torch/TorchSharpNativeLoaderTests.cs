using MLNetTransfer.Torch;

namespace MLNetTransfer.Tests.Torch;

/// <summary>
/// The run-time counterpart of the build's libstdc++ fix, for kernels that load TorchSharp from the NuGet cache: an
/// application folder is left alone, and the NuGet layout gets a patched copy beside links to libtorch. Loading that copy
/// in a real kernel is what the notebook tests do.
/// </summary>
public class TorchSharpNativeLoaderTests
{
    private static readonly string GlobalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static readonly string LibStdCxx = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
        .First(File.Exists);

    [Fact]
    public void An_application_folder_with_the_glue_beside_TorchSharp_is_left_to_the_build_step()
    {
        using var dir = new TempDir();
        var torchSharp = typeof(TorchSharp.torch).Assembly.Location;
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(torchSharp)!, "libLibTorchSharp.so")), "the test output should hold the glue");
        Assert.Null(TorchSharpNativeLoader.PatchedGlue(torchSharp, dir.Path));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void The_NuGet_layout_gets_a_patched_copy_beside_links_to_libtorch_once()
    {
        using var dir = new TempDir();
        var torchSharp = Path.Combine(GlobalPackages, "torchsharp", "0.107.0", "lib", "net8.0", "TorchSharp.dll");
        var original = Path.Combine(GlobalPackages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(torchSharp) && File.Exists(original), $"TorchSharp 0.107.0 should be restored in {GlobalPackages}");
        bool oldLibStdCxx = !LibStdCxxWeakening.DefinedVersions(LibStdCxx).Contains("GLIBCXX_3.4.32");

        var patched = TorchSharpNativeLoader.PatchedGlue(torchSharp, dir.Path);

        if (!oldLibStdCxx) { Assert.Null(patched); return; }   // GCC 13+ libstdc++: the package's file loads as it is
        Assert.NotNull(patched);
        Assert.StartsWith(dir.Path, patched);
        Assert.Equal(["GLIBCXX_3.4.32"], LibStdCxxWeakening.Plan(original, LibStdCxx).Weakened);
        Assert.Empty(LibStdCxxWeakening.Plan(patched, LibStdCxx).Weakened);              // already weak: nothing left to do
        Assert.Equal(new FileInfo(original).Length, new FileInfo(patched).Length);
        var folder = Path.GetDirectoryName(patched)!;
        Assert.Equal(Path.Combine(GlobalPackages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native", "libtorch_cpu.so"),
            new FileInfo(Path.Combine(folder, "libtorch_cpu.so")).LinkTarget);
        var written = File.GetLastWriteTimeUtc(patched);

        Assert.Equal(patched, TorchSharpNativeLoader.PatchedGlue(torchSharp, dir.Path));   // reused, not rewritten
        Assert.Equal(written, File.GetLastWriteTimeUtc(patched));
        Assert.Single(Directory.GetDirectories(dir.Path));                                 // no temp folder left behind
    }
}
