using System.Security.Cryptography;

namespace MLNetTransfer.Backbones;

/// <summary>
/// Finds external files: an explicit assets folder, then <c>$MLNETTRANSFER_ASSETS</c>, then the user cache
/// (<c>~/.cache/mlnettransfer</c>). With a url and a checksum (sha256, else md5) and a network, a missing file is
/// downloaded into the cache (resumable, retried, see <see cref="DownloadOptions"/>), verified, then renamed into place,
/// so a partial or corrupt download is never used. Named assets come from <c>data/manifest.json</c> (<see cref="Manifest"/>).
/// </summary>
public sealed class AssetResolver
{
    /// <summary>The environment variable naming the assets folder.</summary>
    public const string EnvironmentVariable = "MLNETTRANSFER_ASSETS";

    private readonly string? explicitRoot;

    /// <summary>Creates a resolver; <paramref name="assetsRoot"/> (the CLI's <c>--assets</c>) is searched first.</summary>
    public AssetResolver(string? assetsRoot = null) => explicitRoot = assetsRoot;

    /// <summary>The default resolver: environment variable, then the user cache.</summary>
    public static AssetResolver Default { get; } = new();

    /// <summary>Whether downloads may be attempted (default true); tests turn it off to simulate no network.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>The cache folder of this resolver: searched last, and where downloads go. Default <see cref="CacheRoot"/>.</summary>
    public string CacheFolder { get; init; } = CacheRoot;

    /// <summary>Whether <c>$MLNETTRANSFER_ASSETS</c> is searched (default true); tests turn it off to isolate a folder.</summary>
    public bool UseEnvironmentVariable { get; init; } = true;

    /// <summary>Retries, timeouts and progress of downloads. Default <see cref="DownloadOptions"/>' defaults, silent.</summary>
    public DownloadOptions Download { get; init; } = new();

    /// <summary>The catalog that <see cref="Resolve(string)"/> reads. Default <see cref="AssetManifest.Default"/>.</summary>
    public AssetManifest Manifest { get; init; } = AssetManifest.Default;

    /// <summary>The user cache folder, where downloads go: <c>$XDG_CACHE_HOME/mlnettransfer</c>, default <c>~/.cache/mlnettransfer</c>.</summary>
    public static string CacheRoot =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "mlnettransfer");

    /// <summary>The folders searched, in order.</summary>
    public IEnumerable<string> SearchRoots()
    {
        if (!string.IsNullOrWhiteSpace(explicitRoot)) yield return StartDirectoryPath(explicitRoot);
        if (UseEnvironmentVariable && EnvironmentRoot() is { } env) yield return env;
        yield return CacheFolder;
    }

    /// <summary>Resolves the manifest entry named <paramref name="name"/> (see <see cref="Resolve(AssetInfo)"/>).</summary>
    public string Resolve(string name) => Resolve(Manifest.Get(name));

    /// <summary>
    /// <c>$MLNETTRANSFER_ASSETS</c> as a full path, or null when unset. A relative value is taken relative to the
    /// directory the command was started from (see <see cref="StartDirectoryPath"/>).
    /// </summary>
    public static string? EnvironmentRoot() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { } value && !string.IsNullOrWhiteSpace(value) ? StartDirectoryPath(value) : null;

    /// <summary>
    /// A full path for <paramref name="path"/>: as given when rooted; else relative to the current directory when it exists
    /// there; else relative to the directory the command was started from (the shell's <c>$PWD</c>, inherited by child
    /// processes), which differs from the current directory in hosts that move it, such as <c>dotnet test</c>'s test host;
    /// else relative to the current directory (so an error names the place a user expects).
    /// </summary>
    public static string StartDirectoryPath(string path)
    {
        if (Path.IsPathRooted(path)) return Path.GetFullPath(path);
        var fromCurrent = Path.GetFullPath(path);
        if (Path.Exists(fromCurrent)) return fromCurrent;
        if (Environment.GetEnvironmentVariable("PWD") is { Length: > 0 } pwd && Path.IsPathRooted(pwd)
            && Path.GetFullPath(Path.Combine(pwd, path)) is var fromStart && Path.Exists(fromStart))
            return fromStart;
        return fromCurrent;
    }

    /// <summary>Returns the full path of the asset, downloading and verifying it if needed and allowed.</summary>
    /// <exception cref="AssetNotFoundException">Not found anywhere and not downloadable; the message says what to set.</exception>
    /// <exception cref="AssetIntegrityException">Found, but its size or sha256 is wrong.</exception>
    public string Resolve(AssetInfo asset)
    {
        if (asset.Package is { } package) return PackageContent.Resolve(asset, package);
        if (Path.IsPathRooted(asset.RelativePath))
            return File.Exists(asset.RelativePath) ? asset.RelativePath
                : throw new AssetNotFoundException($"{asset.RelativePath}: file not found.", asset.RelativePath);

        foreach (var root in SearchRoots())
        {
            var candidate = Path.Combine(root, asset.RelativePath);
            if (!File.Exists(candidate)) continue;
            Verify(candidate, asset);
            return candidate;
        }

        if (AllowDownload && asset.Url is not null && asset.HasChecksum)
        {
            try { return AssetDownloader.Download(asset, asset.Url, Path.Combine(CacheFolder, asset.RelativePath), Download); }
            catch (AssetDownloader.Failure ex) when (ex.Integrity)
            {
                throw new AssetIntegrityException($"Asset {asset.DisplayName} downloaded from {asset.Url} failed its check: {ex.Message} " +
                    $"Nothing was kept. {WhereToPut(asset)}", asset.Url);
            }
            catch (AssetDownloader.Failure ex) { throw NotFound(asset, $"downloading it from {asset.Url} failed: {ex.Message}"); }
            catch (UnauthorizedAccessException ex)
            {
                throw NotFound(asset, $"it cannot be downloaded: {ex.Message}; set XDG_CACHE_HOME to a writable folder");
            }
        }
        throw NotFound(asset, !asset.HasChecksum ? "it has no verified download" : asset.Url is null ? "it has no download url" : "downloads are off");
    }

    /// <summary>Resolves a folder asset (a dataset) relative to the search roots.</summary>
    public string ResolveDirectory(string relativePath)
    {
        foreach (var root in SearchRoots())
        {
            var candidate = Path.Combine(root, relativePath);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new AssetNotFoundException(
            $"Folder '{relativePath}' not found in {string.Join(", ", SearchRoots())}. Set {EnvironmentVariable} (or --assets) to a folder that holds it.",
            relativePath);
    }

    private AssetNotFoundException NotFound(AssetInfo asset, string why) => new(
        $"Asset {asset.DisplayName} not found in {string.Join(", ", SearchRoots())} and {why}. {WhereToPut(asset)}", asset.RelativePath);

    private string WhereToPut(AssetInfo asset) =>
        $"Set {EnvironmentVariable} (or --assets) to a folder holding {asset.RelativePath}, or copy the file to {Path.Combine(CacheFolder, asset.RelativePath)}.";

    /// <summary>Checks size and sha256 (else md5) against the catalog; throws <see cref="AssetIntegrityException"/> naming the file.</summary>
    public static void Verify(string path, AssetInfo asset)
    {
        var info = new FileInfo(path);
        var length = (info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info).Length; // a symlinked model: its target's size
        if (asset.Size is long size && size != length)
            throw new AssetIntegrityException($"{path}: size {length} bytes, expected {size}: the file is truncated or a different version.", path);
        if (asset.Sha256 is null)
        {
            if (asset.Md5 is null) return;
            string md5;
            using (var stream = File.OpenRead(path)) md5 = Convert.ToHexStringLower(MD5.HashData(stream));
            if (!string.Equals(md5, asset.Md5, StringComparison.OrdinalIgnoreCase))
                throw new AssetIntegrityException($"{path}: md5 {md5} does not match the expected {asset.Md5}: the file is corrupt or a different version; delete it.", path);
            return;
        }
        var actual = Sha256Hex(path);
        if (!string.Equals(actual, asset.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new AssetIntegrityException($"{path}: sha256 {actual} does not match the expected {asset.Sha256}: the file is corrupt or a different version; delete it.", path);
    }

    /// <summary>Lowercase hex sha256 of a file.</summary>
    public static string Sha256Hex(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
