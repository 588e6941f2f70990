using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace MLNetTransfer.Tests.Reliability;

/// <summary>
/// Generates the odd and broken image files of the hostile-input corpus, so no binary test data is committed. The
/// JPEG and PNG writers are minimal on purpose: they make what Skia's encoders cannot (CMYK JPEG, 16-bit PNG, a
/// 12000×12000 JPEG of half a megabyte).
/// </summary>
internal static class HostileFiles
{
    /// <summary>A baseline JPEG of one flat colour: each 8×8 block holds only a DC coefficient (quantizer 1).</summary>
    /// <param name="componentValues">One sample value per component: 1 = gray, 4 = CMYK (written with an Adobe marker).</param>
    public static byte[] FlatJpeg(int width, int height, params byte[] componentValues)
    {
        int n = componentValues.Length;
        if (n is not (1 or 4)) throw new ArgumentException("1 (gray) or 4 (CMYK) components");
        var o = new MemoryStream();
        void Marker(int code, ReadOnlySpan<byte> payload)
        {
            o.WriteByte(0xFF); o.WriteByte((byte)code);
            o.WriteByte((byte)((payload.Length + 2) >> 8)); o.WriteByte((byte)(payload.Length + 2));
            o.Write(payload);
        }
        o.Write([0xFF, 0xD8]);
        // Adobe APP14, transform 0: the samples are CMYK as stored (Adobe's inverted convention, which decoders assume).
        if (n == 4) Marker(0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);
        Marker(0xDB, [0, .. Enumerable.Repeat((byte)1, 64)]);
        var sof = new List<byte> { 8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, (byte)n };
        for (int c = 0; c < n; c++) sof.AddRange([(byte)(c + 1), 0x11, 0]);
        Marker(0xC0, [.. sof]);
        // DC table: category 0 → "0", categories 1..11 → 5-bit codes 10000..11010. AC table: only EOB → "0".
        Marker(0xC4, [0x00, 1, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, .. Enumerable.Range(0, 12).Select(i => (byte)i)]);
        Marker(0xC4, [0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        var sos = new List<byte> { (byte)n };
        for (int c = 0; c < n; c++) sos.AddRange([(byte)(c + 1), 0x00]);
        sos.AddRange([0, 63, 0]);
        Marker(0xDA, [.. sos]);

        var bits = new BitWriter(o);
        long blocks = (long)((width + 7) / 8) * ((height + 7) / 8);
        for (long b = 0; b < blocks; b++)
            for (int c = 0; c < n; c++)
            {
                int diff = b == 0 ? 8 * (componentValues[c] - 128) : 0; // DC = 8·(v − 128); later blocks repeat it
                int category = diff == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(diff));
                if (category == 0) bits.Write(0, 1);
                else
                {
                    bits.Write(0b10000 + category - 1, 5);
                    bits.Write(diff > 0 ? diff : diff + (1 << category) - 1, category);
                }
                bits.Write(0, 1); // EOB
            }
        bits.Flush();
        o.Write([0xFF, 0xD9]);
        return o.ToArray();
    }

    /// <summary>A 16-bit-per-channel RGB PNG of one colour.</summary>
    public static byte[] Png16(int width, int height, ushort r, ushort g, ushort b)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter: none
            for (int x = 0; x < width; x++)
                foreach (var v in new[] { r, g, b }) { raw.WriteByte((byte)(v >> 8)); raw.WriteByte((byte)v); }
        }
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 16; ihdr[9] = 2; // bit depth 16, colour type RGB
        return Png(ihdr, raw.ToArray());
    }

    /// <summary>A PNG from its IHDR payload and unfiltered-or-filtered scanlines (zlib-compressed here).</summary>
    public static byte[] Png(byte[] ihdr, byte[] scanlines)
    {
        var o = new MemoryStream();
        o.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(o, "IHDR", ihdr);
        var z = new MemoryStream();
        using (var zlib = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(scanlines);
        Chunk(o, "IDAT", z.ToArray());
        Chunk(o, "IEND", []);
        return o.ToArray();
    }

    /// <summary>Encodes a solid bitmap with Skia (PNG or JPEG).</summary>
    public static byte[] Encode(int width, int height, SKColor color, SKEncodedImageFormat format, SKColorType type = SKColorType.Rgba8888,
        SKAlphaType alpha = SKAlphaType.Unpremul)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, type, alpha));
        bitmap.Erase(color);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }

    private static void Chunk(Stream o, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        o.Write(word);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        o.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        o.Write(word);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var d in data)
        {
            crc ^= d;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>MSB-first bit packing with JPEG byte stuffing (0xFF → 0xFF 0x00), padded with 1-bits.</summary>
    private sealed class BitWriter(Stream o)
    {
        private int acc, count;

        public void Write(int value, int bits)
        {
            for (int i = bits - 1; i >= 0; i--)
            {
                acc = (acc << 1) | ((value >> i) & 1);
                if (++count == 8) Emit();
            }
        }

        public void Flush()
        {
            while (count != 0) Write(1, 1);
        }

        private void Emit()
        {
            o.WriteByte((byte)acc);
            if (acc == 0xFF) o.WriteByte(0);
            acc = 0;
            count = 0;
        }
    }
}
