using System.Reflection;
using MLNetTransfer.Tests.Notebooks;
using MLNetTransfer.Tests.Reliability;

namespace MLNetTransfer.Tests.Packaging;

/// <summary>
/// Both libraries packed once per test run, with a unique prerelease version (a package cached by an earlier run is
/// never what gets tested), into <c>ROOT/artifacts/packages</c>: the feed the package tests restore from and the one the
/// notebooks name (<c>../artifacts/packages</c> from <c>ROOT/notebooks</c>). Packing is the slow part of those tests, and
/// the packages are the same for all of them.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    /// <summary>The packed projects: the frozen-features library and the fine-tuning one.</summary>
    public static readonly string[] Projects = ["MLNetTransfer", "MLNetTransfer.TorchSharp"];

    private readonly TempDir root = new();

    public string Version { get; } = $"0.1.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public string Root => root.Path;

    /// <summary>The folder feed holding <c>PROJECT.VERSION.nupkg</c>.</summary>
    public string Feed => root.Combine("artifacts", "packages");

    public PackedFeed()
    {
        foreach (var project in Projects)
        {
            var result = ChildProgram.Run("dotnet", ["pack", Source(project), .. PackArguments(Feed, Version)],
                root.Path, NuGetPackageTests.ChildBuildEnvironment(), TimeSpan.FromMinutes(10));
            if (result.ExitCode != 0) throw new InvalidOperationException($"dotnet pack {project} failed (exit {result.ExitCode}):\n{result.Output}");
        }
    }

    public string Nupkg(string project) => Path.Combine(Feed, $"{project}.{Version}.nupkg");

    public static string Source(string project) => Path.Combine(HostileInputCorpusTests.RepoRoot(), "src", project);

    /// <summary>
    /// Release packages of the projects as built. When these tests are a Release build, building them built the projects
    /// they reference (every packed project is one) in Release just before: the pack reuses that build instead of running
    /// MSBuild over it again (the bulk of a pack's 10–20 s). A Debug test build packs with a Release build of its own.
    /// </summary>
    public static string[] PackArguments(string feed, string version) =>
        ["-c", "Release", "-o", feed, $"-p:PackageVersion={version}", .. TestsAreRelease ? new[] { "--no-build" } : []];

    private static bool TestsAreRelease =>
        typeof(PackedFeed).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration == "Release";

    public void Dispose() => root.Dispose();
}

/// <summary>
/// Tests whose work runs in child processes that pack, restore, build or host a kernel (the packages, the notebooks):
/// one after another, sharing one packed feed, and beside the in-process "heavy" collection, whose cores they leave
/// idle for much of their time.
/// </summary>
[CollectionDefinition("packages")]
public sealed class PackagesCollection : ICollectionFixture<PackedFeed>;
