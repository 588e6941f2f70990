using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MLNetTransfer.Backbones;

namespace MLNetTransfer.Torch;

/// <summary>
/// Lets TorchSharp's native glue (libLibTorchSharp.so) load where no build step could patch it: a .NET Interactive
/// kernel (Polyglot Notebooks, Jupyter, dotnet-repl) references the NuGet packages straight from the package cache, so
/// the package's build logic for pre-GCC-13 libstdc++ (Debian 12, Ubuntu 22.04) never runs there. When the library is
/// first used, it writes a copy of the glue in the user cache whose GLIBCXX_3.4.32 requirement is marked weak (the same
/// 2-byte edit as the build step, same code), beside links to libtorch's libraries so the copy's <c>$ORIGIN</c> search
/// path finds them, and loads it. TorchSharp then asks for "libLibTorchSharp.so" by name and gets the loaded copy
/// (the dynamic loader matches a bare name against the libraries already loaded). It does nothing when the system
/// libstdc++ is new enough or when the glue sits beside TorchSharp.dll (an application's build output, which the
/// build step has already handled).
/// </summary>
internal static class TorchSharpNativeLoader
{
    private const string ProbeVersion = "GLIBCXX_3.4.32";
    private const string GlueFile = "libLibTorchSharp.so";
    private static readonly string[] LibStdCxxCandidates =
        ["/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6"];

#pragma warning disable CA2255 // a library module initializer on purpose: it must run before any TorchSharp call.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        try
        {
            if (PatchedGlue(typeof(TorchSharp.torch).Assembly.Location, Path.Combine(AssetResolver.CacheRoot, "torchsharp-native")) is { } path) NativeLibrary.Load(path);
        }
        // Any failure leaves TorchSharp's own loading, and its detailed error message, to run as usual.
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or BadImageFormatException)
        {
            Console.Error.WriteLine($"MLNetTransfer: could not prepare TorchSharp's native library for this libstdc++ ({ex.Message}).");
        }
    }

    /// <summary>The patched copy to load (written under <paramref name="cacheRoot"/> if absent), or null when the normal loading is right.</summary>
    internal static string? PatchedGlue(string torchSharpAssembly, string cacheRoot)
    {
        var assemblyDir = Path.GetDirectoryName(torchSharpAssembly);
        if (string.IsNullOrEmpty(assemblyDir)) return null;
        if (File.Exists(Path.Combine(assemblyDir, GlueFile)) || File.Exists(Path.Combine(assemblyDir, "runtimes", "linux-x64", "native", GlueFile)))
            return null;   // an application output folder: the build has put the right file there
        var libStdCxx = LibStdCxxCandidates.FirstOrDefault(File.Exists);
        if (libStdCxx is null || LibStdCxxWeakening.DefinedVersions(libStdCxx).Contains(ProbeVersion)) return null;

        // NuGet layout: <packages>/torchsharp/<version>/lib/<tfm>/TorchSharp.dll and <packages>/libtorch-cpu-linux-x64/<version>/.
        var package = Directory.GetParent(assemblyDir)?.Parent;
        var packages = package?.Parent?.Parent;
        if (package is null || packages is null) return null;
        var glue = Path.Combine(package.FullName, "runtimes", "linux-x64", "native", GlueFile);
        var libtorch = Directory.Exists(Path.Combine(packages.FullName, "libtorch-cpu-linux-x64"))
            ? Directory.GetDirectories(Path.Combine(packages.FullName, "libtorch-cpu-linux-x64"))
                .Select(v => Path.Combine(v, "runtimes", "linux-x64", "native"))
                .Where(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")))
                .OrderByDescending(d => Version.TryParse(Directory.GetParent(d)!.Parent!.Parent!.Name, out var v) ? v : new Version())
                .FirstOrDefault()
            : null;
        if (!File.Exists(glue) || libtorch is null) return null;

        var plan = LibStdCxxWeakening.Plan(glue, libStdCxx);
        if (plan.Problems.Count > 0)
            throw new InvalidDataException($"{glue} calls libstdc++ functions {libStdCxx} lacks ({string.Join("; ", plan.Problems)}); it needs a libstdc++ from GCC 13 or newer");

        // One folder per (TorchSharp, libtorch) pair, written under a temp name and renamed whole, so a process killed
        // half-way never leaves a folder that looks complete.
        var key = $"{package.Name}-{Directory.GetParent(libtorch)!.Parent!.Parent!.Name}-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(glue + "|" + libtorch)))[..12]}";
        var target = Path.Combine(cacheRoot, key);
        var patched = Path.Combine(target, GlueFile);
        if (File.Exists(patched)) return patched;
        var temp = $"{target}.{Environment.ProcessId}.tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        foreach (var file in Directory.GetFiles(libtorch))
            File.CreateSymbolicLink(Path.Combine(temp, Path.GetFileName(file)), file);
        LibStdCxxWeakening.WriteReplacing(glue, Path.Combine(temp, GlueFile), plan.Patches);
        try { Directory.Move(temp, target); }
        catch (IOException) when (File.Exists(patched)) { Directory.Delete(temp, recursive: true); }   // another process won
        return patched;
    }
}
