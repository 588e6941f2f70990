namespace MLNetTransfer.Backbones;

/// <summary>An asset is neither in any assets folder nor downloadable (offline, or no verified url).</summary>
public sealed class AssetNotFoundException(string message, string relativePath) : FileNotFoundException(message, relativePath)
{
    /// <summary>The asset's path relative to an assets folder.</summary>
    public string RelativePath { get; } = relativePath;
}

/// <summary>An asset file exists but its size or sha256 differs from the catalog: it is never used.</summary>
public sealed class AssetIntegrityException(string message, string path) : IOException(message)
{
    /// <summary>The file that failed the check.</summary>
    public string FilePath { get; } = path;
}
