using SkiaSharp;

namespace MLNetTransfer.Data;

/// <summary>Encodes raw pixel arrays (CIFAR records, MNIST digits) as PNG bytes with SkiaSharp.</summary>
internal static class RawImage
{
    /// <summary>PNG of an RGB image given as planes (CHW: all R, then all G, then all B), as CIFAR stores it.</summary>
    public static byte[] EncodePngFromPlanes(ReadOnlySpan<byte> chw, int width, int height)
    {
        int plane = width * height;
        if (chw.Length != 3 * plane) throw new ArgumentException($"expected {3 * plane} bytes for {width}x{height} RGB, got {chw.Length}.");
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var dst = new byte[plane * 4];
        for (int i = 0; i < plane; i++)
        {
            dst[i * 4] = chw[i];
            dst[i * 4 + 1] = chw[plane + i];
            dst[i * 4 + 2] = chw[2 * plane + i];
            dst[i * 4 + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(dst, 0, bitmap.GetPixels(), dst.Length);
        return Encode(bitmap);
    }

    /// <summary>PNG of an 8-bit grayscale image (row-major).</summary>
    public static byte[] EncodePngGray(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (pixels.Length != width * height) throw new ArgumentException($"expected {width * height} bytes for {width}x{height}, got {pixels.Length}.");
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(pixels.ToArray(), 0, bitmap.GetPixels(), pixels.Length);
        return Encode(bitmap);
    }

    /// <summary>Decodes any supported image to RGB planes (CHW) at its own size; alpha is dropped, gray is replicated.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a decodable image; the message names <paramref name="source"/>.</exception>
    public static byte[] DecodeToPlanes(byte[] encoded, string source, out int width, out int height)
    {
        SKBitmap? bitmapOrNull;
        try { bitmapOrNull = SKBitmap.Decode(encoded); }
        catch (ArgumentException) { bitmapOrNull = null; } // Skia throws on some garbage instead of returning null
        using var decoded = bitmapOrNull ?? throw new InvalidDataException($"{source}: corrupt or unsupported image.");
        using var rgba = decoded.ColorType == SKColorType.Rgba8888 ? null : decoded.Copy(SKColorType.Rgba8888);
        var bitmap = rgba ?? decoded;
        width = bitmap.Width;
        height = bitmap.Height;
        return InterleavedToPlanes(bitmap.GetPixelSpan(), width, height, bgra: false);
    }

    /// <summary>Decodes to RGB planes at (width, height), resizing (bilinear) only when the image has another size.</summary>
    /// <exception cref="InvalidDataException">Not a decodable image; the message names <paramref name="source"/>.</exception>
    public static byte[] DecodeToPlanes(byte[] encoded, string source, int width, int height)
    {
        var planes = DecodeToPlanes(encoded, source, out int w, out int h);
        if (w == width && h == height) return planes;
        using var original = SKBitmap.Decode(encoded);
        using var resized = original.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), Medium)
            ?? throw new InvalidDataException($"{source}: could not be resized to {width}x{height}.");
        return InterleavedToPlanes(resized.GetPixelSpan(), width, height, bgra: false);
    }

    /// <summary>What SkiaSharp 2.88's <c>SKFilterQuality.Medium</c> meant: bilinear, with the nearest mipmap level when shrinking.</summary>
    internal static readonly SKSamplingOptions Medium = new(SKFilterMode.Linear, SKMipmapMode.Nearest);

    /// <summary>4-byte interleaved pixels (RGBA, or BGRA when <paramref name="bgra"/>) to RGB planes; alpha is dropped.</summary>
    internal static byte[] InterleavedToPlanes(ReadOnlySpan<byte> px, int width, int height, bool bgra)
    {
        int plane = width * height, r = bgra ? 2 : 0, b = bgra ? 0 : 2;
        var chw = new byte[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            chw[i] = px[i * 4 + r];
            chw[plane + i] = px[i * 4 + 1];
            chw[2 * plane + i] = px[i * 4 + b];
        }
        return chw;
    }

    private static byte[] Encode(SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
