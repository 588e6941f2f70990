using System.Security.Cryptography;

namespace MLNetTransfer.Backbones;

/// <summary>
/// Finds external files: an explicit assets folder, then <c>$MLNETTRANSFER_ASSETS</c>, then the user cache
/// (<c>~/.cache/mlnettransfer</c>). With a url and sha256 and a network, a missing file is downloaded to a temp
/// file in the cache, verified, then renamed into place, so a partial or corrupt download is never used.
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

    /// <summary>The user cache folder, where downloads go.</summary>
    public static string CacheRoot =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "mlnettransfer");

    /// <summary>The folders searched, in order.</summary>
    public IEnumerable<string> SearchRoots()
    {
        if (!string.IsNullOrWhiteSpace(explicitRoot)) yield return StartDirectoryPath(explicitRoot);
        if (EnvironmentRoot() is { } env) yield return env;
        yield return CacheRoot;
    }

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

        if (AllowDownload && asset.Url is not null && asset.Sha256 is not null)
        {
            try { return Download(asset); }
            catch (HttpRequestException ex) { throw NotFound(asset, $"download from {asset.Url} failed ({ex.Message})"); }
            catch (TaskCanceledException) { throw NotFound(asset, $"download from {asset.Url} timed out"); }
        }
        throw NotFound(asset, asset.Sha256 is null ? "it has no verified download" : "downloads are off");
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
        $"Asset '{asset.RelativePath}' not found in {string.Join(", ", SearchRoots())} and {why}. " +
        $"Set {EnvironmentVariable} (or --assets) to a folder holding {asset.RelativePath}.", asset.RelativePath);

    /// <summary>Checks size and sha256 against the catalog; throws <see cref="AssetIntegrityException"/> naming the file.</summary>
    public static void Verify(string path, AssetInfo asset)
    {
        var length = new FileInfo(path).Length;
        if (asset.Size is long size && size != length)
            throw new AssetIntegrityException($"{path}: size {length} bytes, expected {size}: the file is truncated or a different version.", path);
        if (asset.Sha256 is null) return;
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

    private static string Download(AssetInfo asset)
    {
        var target = Path.Combine(CacheRoot, asset.RelativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = target + ".part-" + Environment.ProcessId;
        try
        {
            using (var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) })
            using (var response = http.GetAsync(asset.Url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult())
            {
                response.EnsureSuccessStatusCode();
                using var body = response.Content.ReadAsStream();
                using var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None);
                body.CopyTo(file);
                file.Flush(flushToDisk: true);
            }
            Verify(temp, asset);
            File.Move(temp, target, overwrite: true); // atomic within one folder: readers see all or nothing
            return target;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
