using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;

namespace MLNetTransfer.Tests.Data;

/// <summary>
/// Small datasets in the official download formats, built from real images: a CIFAR-10 <c>cifar-10-binary.tar.gz</c>
/// from the assets folder's JPEGs, and the four MNIST idx .gz files from real digits; plus a manifest pointing at a server.
/// </summary>
internal static class TinyDatasets
{
    public const int TrainPerClass = 3, TestPerClass = 2;

    /// <summary>Train records (3 per class, spread over 5 batches) and test records (2 per class) from real JPEGs.</summary>
    public static (List<Cifar10Record> Train, List<Cifar10Record> Test) CifarRecords()
    {
        List<Cifar10Record> Records(string dir, int skip, int take) => [.. Enumerable.Range(0, take).SelectMany(i =>
            Cifar10Binary.ClassNames.Select((name, label) =>
            {
                var file = Directory.GetFiles(Path.Combine(dir, name)).Order(StringComparer.Ordinal).ElementAt(skip + i);
                return new Cifar10Record(label, RawImage.DecodeToPlanes(File.ReadAllBytes(file), file, out _, out _));
            }))];
        return (Records(TestAssets.Cifar10Train, 0, TrainPerClass), Records(TestAssets.Cifar10Test, 0, TestPerClass));
    }

    /// <summary>The archive as the CIFAR page serves it: <c>cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin</c>.</summary>
    public static byte[] CifarArchive(List<Cifar10Record> train, List<Cifar10Record> test)
    {
        using var scratch = new TempDir();
        int perBatch = (train.Count + 4) / 5;
        for (int b = 0; b < 5; b++) Cifar10Binary.Write(scratch.Combine($"data_batch_{b + 1}.bin"), train.Skip(b * perBatch).Take(perBatch));
        Cifar10Binary.Write(scratch.Combine("test_batch.bin"), test);
        File.WriteAllText(scratch.Combine("batches.meta.txt"), string.Join("\n", Cifar10Binary.ClassNames) + "\n");
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Ustar))
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "cifar-10-batches-bin/"));
            foreach (var name in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin", "batches.meta.txt" })
                tar.WriteEntry(scratch.Combine(name), "cifar-10-batches-bin/" + name);
        }
        return buffer.ToArray();
    }

    /// <summary>The four MNIST .gz files (12 train, 6 test real digits), by manifest name.</summary>
    public static Dictionary<string, byte[]> MnistFiles(out IReadOnlyList<MnistImage> train, out IReadOnlyList<MnistImage> test)
    {
        var real = MnistIdx.Load(TestAssets.Mnist, train: false);
        train = [.. real.Take(12)];
        test = [.. real.Skip(12).Take(6)];
        using var scratch = new TempDir();
        MnistIdx.WriteImages(scratch.Combine("a.gz"), [.. train.Select(m => m.Pixels)], 28, 28);
        MnistIdx.WriteLabels(scratch.Combine("b.gz"), [.. train.Select(m => (byte)m.Label)]);
        MnistIdx.WriteImages(scratch.Combine("c.gz"), [.. test.Select(m => m.Pixels)], 28, 28);
        MnistIdx.WriteLabels(scratch.Combine("d.gz"), [.. test.Select(m => (byte)m.Label)]);
        return new()
        {
            ["mnist-train-images"] = File.ReadAllBytes(scratch.Combine("a.gz")),
            ["mnist-train-labels"] = File.ReadAllBytes(scratch.Combine("b.gz")),
            ["mnist-test-images"] = File.ReadAllBytes(scratch.Combine("c.gz")),
            ["mnist-test-labels"] = File.ReadAllBytes(scratch.Combine("d.gz")),
        };
    }

    /// <summary>
    /// A manifest whose entries replace the built-in ones: same names and paths, urls on the server, and the size and md5
    /// of <paramref name="served"/> (what the server holds when it behaves).
    /// </summary>
    public static string WriteManifest(string path, string baseUrl, IReadOnlyDictionary<string, byte[]> served)
    {
        var builtIn = AssetManifest.Default;
        var entries = served.Select(kv => new Dictionary<string, object?>
        {
            ["name"] = kv.Key,
            ["path"] = builtIn.Get(kv.Key).RelativePath,
            ["url"] = baseUrl + Path.GetFileName(builtIn.Get(kv.Key).RelativePath),
            ["size"] = kv.Value.LongLength,
            ["md5"] = Convert.ToHexStringLower(MD5.HashData(kv.Value)),
        });
        File.WriteAllText(path, JsonSerializer.Serialize(new { assets = entries }));
        return path;
    }
}
