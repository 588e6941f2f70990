using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;

namespace MLNetTransfer.Bench;

/// <summary>
/// What a first run costs after the CIFAR-10 download, at full size: an archive in the official layout (5 train batches
/// of 10,000 records and a test batch, from the assets folder's 60,000 JPEGs) is checked (md5), extracted and written out
/// as PNG folders by <see cref="Cifar10.Locate"/>, as on a fresh machine; then a second call (the cached path) is timed.
/// The network time itself depends on the connection and is not measured here.
/// </summary>
internal static class FirstRunBench
{
    public static void Run(string assets, bool quick)
    {
        var root = Path.Combine(Path.GetTempPath(), "mlnettransfer-bench-firstrun");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        var archiveRoot = Path.Combine(root, "archive-folder");
        var archive = Path.Combine(archiveRoot, "datasets", "cifar-10-binary.tar.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);

        var watch = Stopwatch.StartNew();
        var batches = Path.Combine(root, "batches");
        Directory.CreateDirectory(batches);
        int perClassTrain = quick ? 100 : 5000, perClassTest = quick ? 20 : 1000;
        var train = Records(Path.Combine(assets, "datasets/cifar10/train"), perClassTrain);
        int perBatch = train.Count / 5;
        for (int b = 0; b < 5; b++) Cifar10Binary.Write(Path.Combine(batches, $"data_batch_{b + 1}.bin"), train.Skip(b * perBatch).Take(perBatch));
        Cifar10Binary.Write(Path.Combine(batches, "test_batch.bin"), Records(Path.Combine(assets, "datasets/cifar10/test"), perClassTest));
        using (var gz = new GZipStream(File.Create(archive), CompressionLevel.Optimal))
        using (var tar = new TarWriter(gz, TarEntryFormat.Ustar))
            foreach (var file in Directory.GetFiles(batches).Order(StringComparer.Ordinal))
                tar.WriteEntry(file, "cifar-10-batches-bin/" + Path.GetFileName(file));
        Console.WriteLine($"built a {train.Count + 10 * perClassTest}-record archive of {new FileInfo(archive).Length:N0} bytes in {watch.Elapsed.TotalSeconds:F1} s (setup, not part of a first run)");

        string md5;
        using (var s = File.OpenRead(archive)) md5 = Convert.ToHexStringLower(MD5.HashData(s));
        var manifest = AssetManifest.Parse(new MemoryStream(Encoding.UTF8.GetBytes(
            $$"""{"assets":[{"name":"cifar10-binary","path":"datasets/cifar-10-binary.tar.gz","size":{{new FileInfo(archive).Length}},"md5":"{{md5}}"}]}""")), "bench");
        var cache = Path.Combine(root, "cache");
        var resolver = new AssetResolver(archiveRoot) { UseEnvironmentVariable = false, CacheFolder = cache, AllowDownload = false, Manifest = AssetManifest.Default.With(manifest) };

        watch.Restart();
        var batchDir = Cifar10.LocateBatches(resolver);
        var extract = watch.Elapsed.TotalSeconds;
        watch.Restart();
        var folders = Cifar10.Locate(resolver);
        var png = watch.Elapsed.TotalSeconds;
        watch.Restart();
        var again = Cifar10.Load(resolver, maxPerClass: 200);
        var cached = watch.Elapsed.TotalSeconds;

        long Bytes(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        int files = Directory.EnumerateFiles(Path.GetDirectoryName(folders.TrainDir)!, "*.png", SearchOption.AllDirectories).Count();
        Console.WriteLine("| step | seconds | result |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| md5 check + extract the archive | {extract:F1} | {Bytes(batchDir):N0} bytes of batches |");
        Console.WriteLine($"| write the batches as PNG folders | {png:F1} | {files:N0} PNG files, {Bytes(Path.GetDirectoryName(folders.TrainDir)!):N0} bytes |");
        Console.WriteLine($"| later call (cached): locate + list 200/class | {cached:F1} | {again.Train.Count} train, {again.Test.Count} test images |");
        Directory.Delete(root, recursive: true);
    }

    private static List<Cifar10Record> Records(string dir, int perClass)
    {
        var files = Cifar10Binary.ClassNames.SelectMany((name, label) =>
            Directory.GetFiles(Path.Combine(dir, name)).Order(StringComparer.Ordinal).Take(perClass).Select(f => (f, label))).ToList();
        var records = new Cifar10Record[files.Count];
        Parallel.For(0, files.Count, i => records[i] = new Cifar10Record(files[i].label, RawImage.DecodeToPlanes(File.ReadAllBytes(files[i].f), files[i].f, 32, 32)));
        // Interleave the classes as the official batches do, so every batch holds all of them.
        return [.. records.Select((r, i) => (r, i)).OrderBy(x => x.i % perClass).ThenBy(x => x.r.Label).Select(x => x.r)];
    }
}
