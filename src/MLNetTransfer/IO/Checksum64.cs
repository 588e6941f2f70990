using System.Buffers.Binary;

namespace MLNetTransfer.IO;

/// <summary>
/// A fast incremental 64-bit checksum (FNV-1a over 8-byte words, then a final mix) for detecting truncated or
/// damaged cache files. It catches accidents, not an adversary; feed the same bytes in any chunking, same result.
/// </summary>
internal sealed class Checksum64
{
    private const ulong Prime = 0x100000001B3;
    private ulong hash = 0xCBF29CE484222325;
    private ulong pending;
    private int pendingBytes;
    private long length;

    public void Append(ReadOnlySpan<byte> data)
    {
        length += data.Length;
        while (pendingBytes != 0 && data.Length > 0) // finish a word split across calls
        {
            pending |= (ulong)data[0] << (8 * pendingBytes);
            data = data[1..];
            if (++pendingBytes == 8) { Mix(pending); pending = 0; pendingBytes = 0; }
        }
        int words = data.Length / 8;
        for (int i = 0; i < words; i++) Mix(BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i * 8, 8)));
        foreach (var b in data[(words * 8)..]) pending |= (ulong)b << (8 * pendingBytes++);
    }

    /// <summary>The checksum of everything appended (length included, so trailing zeros count).</summary>
    public long Value
    {
        get
        {
            ulong h = hash;
            if (pendingBytes != 0) h = (h ^ pending) * Prime;
            h = (h ^ (ulong)length) * Prime;
            h ^= h >> 33; h *= 0xFF51AFD7ED558CCD; h ^= h >> 33;
            return (long)h;
        }
    }

    private void Mix(ulong word) => hash = (hash ^ word) * Prime;
}
