using System.Formats.Tar;
using System.IO.Compression;
using MLNetTransfer.Backbones;

namespace MLNetTransfer.Data;

/// <summary>
/// CIFAR-10 wherever it is, downloaded on first use (like Keras's <c>cifar10.load_data()</c>). Looked for, in order: image
/// folders <c>datasets/cifar10/{train,test}/CLASS</c> in <c>--assets</c>, <c>$MLNETTRANSFER_ASSETS</c> and the user cache;
/// the binary batches <c>datasets/cifar-10-batches-bin</c> or the archive <c>datasets/cifar-10-binary.tar.gz</c> in those
/// folders; else the official archive (manifest entry <c>cifar10-binary</c>, 162 MiB) is downloaded into the cache and
/// verified. Batches are extracted into the cache, then written out as lossless PNG folders in the cache, each step
/// atomically, so later calls are offline and read the same images.
/// </summary>
public static class Cifar10
{
    /// <summary>Image folders (train/ and test/, one sub-folder per class) inside an assets folder or the cache.</summary>
    public const string ImageFoldersPath = "datasets/cifar10";

    /// <summary>The extracted binary batches (<c>data_batch_1..5.bin</c>, <c>test_batch.bin</c>) inside an assets folder or the cache.</summary>
    public const string BatchesPath = "datasets/cifar-10-batches-bin";

    /// <summary>The manifest entry of the official archive.</summary>
    public const string ArchiveAsset = "cifar10-binary";

    /// <summary>Finds (or downloads and prepares) CIFAR-10's image folders.</summary>
    /// <exception cref="AssetNotFoundException">Not found anywhere and not downloadable (offline); the message says what to set.</exception>
    /// <exception cref="AssetIntegrityException">A downloaded or found archive fails its checksum; nothing corrupt is kept or read.</exception>
    public static DatasetFolders Locate(AssetResolver? assets = null)
    {
        assets ??= AssetResolver.Default;
        foreach (var root in assets.SearchRoots())
        {
            var (train, test) = (Path.Combine(root, ImageFoldersPath, "train"), Path.Combine(root, ImageFoldersPath, "test"));
            if (Directory.Exists(train) && Directory.Exists(test)) return new(train, test, $"image folders in {root}");
        }
        var batches = LocateBatches(assets);
        var target = DatasetCache.BuildOnce(Path.Combine(assets.CacheFolder, ImageFoldersPath), temp =>
        {
            assets.Download.Log?.Invoke($"CIFAR-10: writing the binary batches of {batches} as PNG folders (once)");
            WriteImages(Path.Combine(temp, "train"), Cifar10Binary.LoadDirectory(batches, train: true));
            WriteImages(Path.Combine(temp, "test"), Cifar10Binary.LoadDirectory(batches, train: false));
        }, assets.Download.LockTimeout, assets.Download.Log);
        return new(Path.Combine(target, "train"), Path.Combine(target, "test"), $"PNG folders in {target}, written from the binary batches in {batches}");
    }

    /// <summary>The labelled images of both splits, each sampled to at most <paramref name="maxPerClass"/> per class (seeded) when given.</summary>
    public static DatasetSplits Load(AssetResolver? assets = null, int? maxPerClass = null, int seed = 1)
    {
        var folders = Locate(assets);
        var options = new ImageFolderOptions { MaxPerClass = maxPerClass, Seed = seed };
        return new(ImageFolder.Scan(folders.TrainDir, options).Images, ImageFolder.Scan(folders.TestDir, options).Images, folders);
    }

    /// <summary>The folder of the binary batches, for <see cref="Cifar10Binary.LoadDirectory"/>: found, extracted, or downloaded first.</summary>
    public static string LocateBatches(AssetResolver? assets = null)
    {
        assets ??= AssetResolver.Default;
        foreach (var root in assets.SearchRoots())
        {
            var dir = Path.Combine(root, BatchesPath);
            if (File.Exists(Path.Combine(dir, "test_batch.bin"))) return dir;
        }
        string archive;
        try { archive = assets.Resolve(assets.Manifest.Get(ArchiveAsset)); }
        catch (AssetNotFoundException ex)
        {
            throw new AssetNotFoundException($"CIFAR-10 not found: no {ImageFoldersPath}/{{train,test}} image folders or {BatchesPath} batches in " +
                $"{string.Join(", ", assets.SearchRoots())}. {ex.Message}", ex.RelativePath);
        }
        return DatasetCache.BuildOnce(Path.Combine(assets.CacheFolder, BatchesPath), temp => ExtractBatches(archive, temp),
            assets.Download.LockTimeout, assets.Download.Log);
    }

    private static void WriteImages(string root, IEnumerable<Cifar10Record> records) =>
        DatasetCache.WriteImageFolder(root, records, r => (RawImage.EncodePngFromPlanes(r.Pixels, 32, 32), Cifar10Binary.ClassNames[r.Label]));

    // Only the known batch files are taken, by bare file name, so no entry can write outside the folder.
    private static readonly HashSet<string> BatchFiles =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin", "batches.meta.txt"];

    private static void ExtractBatches(string archive, string dir)
    {
        try
        {
            using var gz = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } entry)
            {
                var name = Path.GetFileName(entry.Name);
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && BatchFiles.Contains(name))
                    entry.ExtractToFile(Path.Combine(dir, name), overwrite: false);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"{archive}: not a readable CIFAR-10 tar.gz archive ({ex.Message.TrimEnd('.')}).", ex);
        }
        if (!File.Exists(Path.Combine(dir, "test_batch.bin")) || Directory.GetFiles(dir, "data_batch_*.bin").Length == 0)
            throw new InvalidDataException($"{archive}: holds no cifar-10-batches-bin/test_batch.bin and data_batch_N.bin files.");
        foreach (var batch in Directory.GetFiles(dir, "*.bin"))
            if (new FileInfo(batch).Length is var length && (length == 0 || length % Cifar10Binary.RecordSize != 0))
                throw new InvalidDataException($"{archive}: {Path.GetFileName(batch)} holds {length} bytes, not whole {Cifar10Binary.RecordSize}-byte records.");
    }
}
