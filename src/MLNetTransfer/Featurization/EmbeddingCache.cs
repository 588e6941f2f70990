using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MLNetTransfer.IO;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Embeddings on disk, one small file per image, keyed by the sha256 of the image bytes under a folder per
/// (backbone, sizes) key. Writes are atomic (temp + rename) and each entry carries a checksum, so an entry cut
/// short by a crash or corrupted later is detected and recomputed, never read.
/// </summary>
internal sealed class EmbeddingCache
{
    private const uint Magic = 0x4D4C4E45; // "MLNE"
    private readonly string folder;
    private readonly int dimension;

    /// <summary>Opens (creating) the cache for one featurizer configuration.</summary>
    public EmbeddingCache(string root, string configurationKey, int dimension)
    {
        folder = Path.Combine(root, Sanitize(configurationKey));
        this.dimension = dimension;
        Directory.CreateDirectory(folder);
    }

    /// <summary>Entries read (hits) and written (misses) since creation.</summary>
    public long Hits, Writes, CorruptEntries;

    /// <summary>The cache key of an image: lowercase hex sha256 of its bytes.</summary>
    public static string KeyOf(ReadOnlySpan<byte> imageBytes) => Convert.ToHexStringLower(SHA256.HashData(imageBytes));

    /// <summary>Reads an entry into <paramref name="destination"/>; false when missing or corrupt.</summary>
    public bool TryRead(string key, Span<float> destination)
    {
        var path = PathOf(key);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { return false; }
        catch (DirectoryNotFoundException) { return false; }
        int payload = dimension * sizeof(float);
        if (bytes.Length != 12 + payload || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)) != dimension
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)) != Checksum(bytes.AsSpan(12)))
        {
            Interlocked.Increment(ref CorruptEntries);
            return false;
        }
        MemoryMarshal.Cast<byte, float>(bytes.AsSpan(12)).CopyTo(destination);
        Interlocked.Increment(ref Hits);
        return true;
    }

    /// <summary>Writes an entry atomically.</summary>
    public void Write(string key, ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != dimension) throw new ArgumentException($"Embedding has {embedding.Length} values, the cache holds {dimension}.");
        var bytes = new byte[12 + dimension * sizeof(float)];
        MemoryMarshal.AsBytes(embedding).CopyTo(bytes.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), dimension);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Checksum(bytes.AsSpan(12)));
        AtomicFile.WriteAllBytes(PathOf(key), bytes);
        Interlocked.Increment(ref Writes);
    }

    private string PathOf(string key) => Path.Combine(folder, key[..2], key + ".emb");

    // FNV-1a over the payload: cheap, and catches truncation and bit flips (not an adversary).
    private static uint Checksum(ReadOnlySpan<byte> data)
    {
        uint h = 2166136261;
        foreach (var b in data) h = (h ^ b) * 16777619;
        return h;
    }

    private static string Sanitize(string key) => string.Concat(key.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
