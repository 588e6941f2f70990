using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNetTransfer.Data;

/// <summary>MNIST images: 28×28 grayscale bytes and the digit.</summary>
/// <param name="Label">Digit 0–9.</param>
/// <param name="Pixels">Row-major grayscale bytes.</param>
/// <param name="Rows">Height.</param>
/// <param name="Columns">Width.</param>
public sealed record MnistImage(int Label, byte[] Pixels, int Rows, int Columns);

/// <summary>The IDX format of MNIST (raw or gzipped): images (magic 2051) and labels (magic 2049), big-endian counts.</summary>
public static class MnistIdx
{
    /// <summary>Reads an idx3 image file: count × rows × cols bytes.</summary>
    /// <exception cref="InvalidDataException">Wrong magic or fewer bytes than the header declares; names the file.</exception>
    public static (byte[][] Images, int Rows, int Columns) ReadImages(string path)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 2051)
            throw new InvalidDataException($"{path}: not an MNIST image file (magic 2051 expected).");
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        int rows = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        int cols = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        long need = (long)count * rows * cols;
        if (count < 0 || rows <= 0 || cols <= 0 || need != bytes.Length - 16)
            throw new InvalidDataException($"{path}: header declares {count} images of {rows}x{cols} ({need} bytes) but the file holds {bytes.Length - 16}.");
        int size = rows * cols;
        var images = new byte[count][];
        for (int i = 0; i < count; i++) images[i] = bytes.AsSpan(16 + i * size, size).ToArray();
        return (images, rows, cols);
    }

    /// <summary>Reads an idx1 label file.</summary>
    public static byte[] ReadLabels(string path)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 2049)
            throw new InvalidDataException($"{path}: not an MNIST label file (magic 2049 expected).");
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (count < 0 || count != bytes.Length - 8)
            throw new InvalidDataException($"{path}: header declares {count} labels but the file holds {bytes.Length - 8}.");
        var labels = bytes[8..];
        if (labels.Any(l => l > 9)) throw new InvalidDataException($"{path}: a label is above 9.");
        return labels;
    }

    /// <summary>Pairs <c>train-images-idx3-ubyte(.gz)</c> with its labels (or <c>t10k-</c> for test) in a folder.</summary>
    public static IReadOnlyList<MnistImage> Load(string dir, bool train)
    {
        var prefix = train ? "train" : "t10k";
        var imagesPath = Find(dir, $"{prefix}-images-idx3-ubyte");
        var labelsPath = Find(dir, $"{prefix}-labels-idx1-ubyte");
        var (images, rows, cols) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (images.Length != labels.Length)
            throw new InvalidDataException($"{imagesPath} holds {images.Length} images but {labelsPath} holds {labels.Length} labels.");
        return [.. images.Select((p, i) => new MnistImage(labels[i], p, rows, cols))];
    }

    /// <summary>Writes an idx3 image file (gzipped when the name ends in .gz).</summary>
    public static void WriteImages(string path, IReadOnlyList<byte[]> images, int rows, int cols)
    {
        var bytes = new byte[16 + images.Count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 2051);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), images.Count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 0; i < images.Count; i++) images[i].CopyTo(bytes, 16 + i * rows * cols);
        WriteAll(path, bytes);
    }

    /// <summary>Writes an idx1 label file (gzipped when the name ends in .gz).</summary>
    public static void WriteLabels(string path, IReadOnlyList<byte> labels)
    {
        var bytes = new byte[8 + labels.Count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 2049);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Count);
        for (int i = 0; i < labels.Count; i++) bytes[8 + i] = labels[i];
        WriteAll(path, bytes);
    }

    /// <summary>Images as PNG-encoded rows with labels "0".."9".</summary>
    public static IEnumerable<ImageBytesRow> ToRows(IEnumerable<MnistImage> images) =>
        images.Select(m => new ImageBytesRow { Image = RawImage.EncodePngGray(m.Pixels, m.Columns, m.Rows), Label = m.Label.ToString() });

    /// <summary>True when <paramref name="dir"/> holds all four files (train and t10k images and labels, raw or .gz).</summary>
    internal static bool HasAllFiles(string dir) =>
        new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .All(stem => File.Exists(Path.Combine(dir, stem)) || File.Exists(Path.Combine(dir, stem + ".gz")));

    private static string Find(string dir, string stem)
    {
        foreach (var candidate in new[] { stem, stem + ".gz" })
        {
            var p = Path.Combine(dir, candidate);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"{Path.Combine(dir, stem)}(.gz): MNIST file not found.");
    }

    private static byte[] ReadAll(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return File.ReadAllBytes(path);
        try
        {
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException ex) { throw new InvalidDataException($"{path}: corrupt gzip ({ex.Message}).", ex); }
    }

    private static void WriteAll(string path, byte[] bytes) =>
        IO.AtomicFile.Write(path, stream =>
        {
            if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) { stream.Write(bytes); return; }
            using var gz = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            gz.Write(bytes);
        });
}
