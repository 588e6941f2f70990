namespace MLNetTransfer.Data;

/// <summary>One CIFAR-10 record: label 0–9 and 3,072 bytes of RGB planes (32×32 each).</summary>
/// <param name="Label">Class index.</param>
/// <param name="Pixels">R plane, G plane, B plane, each 32×32 row-major.</param>
internal sealed record Cifar10Record(int Label, byte[] Pixels);

/// <summary>
/// CIFAR-10 binary batches (<c>data_batch_1..5.bin</c>, <c>test_batch.bin</c>): records of 1 label byte + 3,072 pixel bytes.
/// </summary>
internal static class Cifar10Binary
{
    /// <summary>Bytes per record.</summary>
    public const int RecordSize = 1 + 3 * 32 * 32;

    /// <summary>Class names in label order.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Streams the records of one batch file.</summary>
    /// <exception cref="InvalidDataException">Size not a multiple of 3,073, or a label above 9; names the file.</exception>
    public static IEnumerable<Cifar10Record> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: CIFAR-10 batch not found.", path);
        long length = new FileInfo(path).Length;
        if (length == 0 || length % RecordSize != 0)
            throw new InvalidDataException($"{path}: {length} bytes is not a whole number of CIFAR-10 records ({RecordSize} bytes each).");
        return ReadRecords(path, length / RecordSize);
    }

    private static IEnumerable<Cifar10Record> ReadRecords(string path, long count)
    {
        using var stream = File.OpenRead(path);
        var buffer = new byte[RecordSize];
        for (long i = 0; i < count; i++)
        {
            stream.ReadExactly(buffer);
            if (buffer[0] > 9) throw new InvalidDataException($"{path}: record {i} has label {buffer[0]}; CIFAR-10 labels are 0–9.");
            yield return new Cifar10Record(buffer[0], buffer[1..]);
        }
    }

    /// <summary>Writes records as a batch file (atomically).</summary>
    public static void Write(string path, IEnumerable<Cifar10Record> records) =>
        IO.AtomicFile.Write(path, stream =>
        {
            foreach (var r in records)
            {
                if (r.Pixels.Length != RecordSize - 1 || r.Label is < 0 or > 9) throw new ArgumentException("a CIFAR-10 record needs a label 0–9 and 3,072 bytes.");
                stream.WriteByte((byte)r.Label);
                stream.Write(r.Pixels);
            }
        });

    /// <summary>All records of a folder's training batches (<c>data_batch_*.bin</c>) or its <c>test_batch.bin</c>.</summary>
    public static IEnumerable<Cifar10Record> LoadDirectory(string dir, bool train)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: CIFAR-10 folder not found.");
        var files = train ? Directory.GetFiles(dir, "data_batch_*.bin").Order(StringComparer.Ordinal).ToArray()
            : Directory.GetFiles(dir, "test_batch.bin");
        if (files.Length == 0) throw new FileNotFoundException($"{dir}: no {(train ? "data_batch_*.bin" : "test_batch.bin")} file.");
        return files.SelectMany(Read);
    }

    /// <summary>Records as PNG-encoded rows (for <see cref="ImageBytesRow"/> views).</summary>
    public static IEnumerable<ImageBytesRow> ToRows(IEnumerable<Cifar10Record> records) =>
        records.Select(r => new ImageBytesRow { Image = RawImage.EncodePngFromPlanes(r.Pixels, 32, 32), Label = ClassNames[r.Label] });
}
