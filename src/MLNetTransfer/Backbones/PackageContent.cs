using System.Collections.Concurrent;

namespace MLNetTransfer.Backbones;

/// <summary>
/// Finds files shipped inside a NuGet package the library depends on: first where the package's build props copy them
/// (the application folder), then in the NuGet package folder (<c>$NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>),
/// which is where they are when the library itself comes from a package. Each file is checked against its size and
/// sha256 once per process.
/// </summary>
internal static class PackageContent
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), bool> Verified = new();

    /// <summary>The places searched for <paramref name="content"/>, in order.</summary>
    public static IEnumerable<string> Candidates(NuGetContent content)
    {
        yield return Path.Combine(AppContext.BaseDirectory, content.OutputPath);
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        yield return Path.Combine(packages, content.PackageId.ToLowerInvariant(), content.Version.ToLowerInvariant(), content.PathInPackage);
    }

    /// <summary>The verified path of the package file.</summary>
    /// <exception cref="AssetNotFoundException">In none of the places; the message names the package, the file and its sha256.</exception>
    /// <exception cref="AssetIntegrityException">Found but truncated or altered; same details.</exception>
    public static string Resolve(AssetInfo asset, NuGetContent content) => Resolve(asset, content, [.. Candidates(content)]);

    /// <summary>As <see cref="Resolve(AssetInfo, NuGetContent)"/>, searching <paramref name="candidates"/> (tests point it at broken copies).</summary>
    internal static string Resolve(AssetInfo asset, NuGetContent content, IReadOnlyList<string> candidates)
    {
        var path = candidates.FirstOrDefault(File.Exists)
            ?? throw new AssetNotFoundException(
                $"{content.PathInPackage} of NuGet package {content.PackageId} {content.Version} (sha256 {asset.Sha256}) not found in " +
                $"{string.Join(" or ", candidates)}. Restore the package (dotnet restore) or reference {content.PackageId} {content.Version}.",
                content.PathInPackage);
        var info = new FileInfo(path);
        if (Verified.ContainsKey((path, info.Length, info.LastWriteTimeUtc))) return path;
        try
        {
            AssetResolver.Verify(path, asset);
        }
        catch (AssetIntegrityException ex)
        {
            throw new AssetIntegrityException(
                $"{path} ({content.PathInPackage} of NuGet package {content.PackageId} {content.Version}) is corrupt: expected sha256 {asset.Sha256}" +
                $"{(asset.Size is long size ? $", {size} bytes" : "")}. {ex.Message} Delete the package folder and restore it again.", path);
        }
        Verified[(path, info.Length, info.LastWriteTimeUtc)] = true;
        return path;
    }
}
