using MLNetTransfer.Backbones;

namespace MLNetTransfer.Data;

/// <summary>
/// MNIST wherever it is, downloaded on first use: the four idx files in <c>datasets/mnist</c> of <c>--assets</c>,
/// <c>$MLNETTRANSFER_ASSETS</c> or the user cache; else the four upstream .gz files (manifest entries
/// <c>mnist-train-images</c>, <c>-train-labels</c>, <c>-test-images</c>, <c>-test-labels</c>; 11 MiB) are downloaded into
/// the cache and verified. <see cref="LocateImageFolders"/> writes them out once as PNG folders for folder-based tools.
/// </summary>
public static class Mnist
{
    /// <summary>The folder of the idx files inside an assets folder or the cache.</summary>
    public const string IdxPath = "datasets/mnist";

    /// <summary>The PNG folders (train/ and test/, one sub-folder per digit) inside the cache.</summary>
    public const string ImageFoldersPath = "datasets/mnist-images";

    /// <summary>The manifest entries of the four files.</summary>
    public static IReadOnlyList<string> FileAssets { get; } = ["mnist-train-images", "mnist-train-labels", "mnist-test-images", "mnist-test-labels"];

    /// <summary>The folder holding the four idx files: found, or downloaded into the cache first.</summary>
    /// <exception cref="AssetNotFoundException">Not found and not downloadable (offline); the message says what to set.</exception>
    /// <exception cref="AssetIntegrityException">A downloaded file fails its checksum; it is not kept.</exception>
    public static string Locate(AssetResolver? assets = null)
    {
        assets ??= AssetResolver.Default;
        foreach (var root in assets.SearchRoots())
        {
            var dir = Path.Combine(root, IdxPath);
            if (MnistIdx.HasAllFiles(dir)) return dir;
        }
        var files = FileAssets.Select(name => assets.Resolve(assets.Manifest.Get(name))).ToList();
        var folders = files.Select(Path.GetDirectoryName).Distinct().ToList();
        return folders.Count == 1 ? folders[0]! : throw new AssetNotFoundException(
            $"MNIST's four files were found in different folders ({string.Join(", ", folders)}); put them in one {IdxPath} folder.", IdxPath);
    }

    /// <summary>The images of one split (<paramref name="train"/>: 60,000; else the 10,000 test images).</summary>
    public static IReadOnlyList<MnistImage> Load(AssetResolver? assets = null, bool train = true) => MnistIdx.Load(Locate(assets), train);

    /// <summary>Both splits as PNG folders in the cache, written once from the idx files.</summary>
    public static DatasetFolders LocateImageFolders(AssetResolver? assets = null)
    {
        assets ??= AssetResolver.Default;
        var idx = Locate(assets);
        var target = DatasetCache.BuildOnce(Path.Combine(assets.CacheFolder, ImageFoldersPath), temp =>
        {
            assets.Download.Log?.Invoke($"MNIST: writing the idx files of {idx} as PNG folders (once)");
            foreach (var (split, train) in new[] { ("train", true), ("test", false) })
                DatasetCache.WriteImageFolder(Path.Combine(temp, split), MnistIdx.Load(idx, train),
                    m => (RawImage.EncodePngGray(m.Pixels, m.Columns, m.Rows), m.Label.ToString()));
        }, assets.Download.LockTimeout, assets.Download.Log);
        return new(Path.Combine(target, "train"), Path.Combine(target, "test"), $"PNG folders in {target}, written from {idx}");
    }
}
