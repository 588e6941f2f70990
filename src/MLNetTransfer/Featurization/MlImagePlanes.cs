using SkiaSharp;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Decodes encoded image bytes into RGB planes exactly as ML.NET's chain does it (the saved model): LoadImages' decoder
/// (<c>MLImage.CreateFromStream</c>: <see cref="SKBitmap.Decode(Stream)"/>, other colour types copied to BGRA), then,
/// when the size differs, <c>ResizeImages</c> with its defaults (IsoCrop, centre anchor), as ML.NET ImageAnalytics 6 draws it.
/// </summary>
internal static class MlImagePlanes
{
    /// <summary>
    /// Decodes into float RGB planes in [0,1] with ExtractPixels' arithmetic ((pixel − 0) × 1/255): int8 networks amplify
    /// last-bit differences, so every direct decode scales the same way.
    /// </summary>
    public static void DecodeScaled(byte[] encoded, string source, int width, int height, Span<float> target)
    {
        var planes = Decode(encoded, source, width, height);
        const float scale = 1f / 255;
        for (int i = 0; i < planes.Length; i++) target[i] = planes[i] * scale;
    }

    public static byte[] Decode(byte[] encoded, string source, int width, int height)
    {
        SKBitmap? decoded;
        try { decoded = SKBitmap.Decode(new MemoryStream(encoded, writable: false)); }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new InvalidDataException($"{source}: corrupt or unsupported image ({ex.Message})", ex);
        }
        if (decoded is null) throw new InvalidDataException($"{source}: corrupt or unsupported image (Invalid input stream contents)");
        using var image = SupportedFormat(decoded, source);
        if (image.Width == width && image.Height == height) return Planes(image);
        using var resized = ResizeIsoCropCentre(image, width, height);
        return Planes(resized);
    }

    // MLImage keeps BGRA and RGBA as decoded and copies anything else (gray, 16-bit, F16...) to BGRA.
    private static SKBitmap SupportedFormat(SKBitmap decoded, string source)
    {
        if (decoded.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888) return decoded;
        using (decoded)
        {
            if (!decoded.CanCopyTo(SKColorType.Bgra8888)) throw new InvalidDataException($"{source}: corrupt or unsupported image (Unsupported image format.)");
            return decoded.Copy(SKColorType.Bgra8888);
        }
    }

    private static byte[] Planes(SKBitmap bitmap) =>
        Data.RawImage.InterleavedToPlanes(bitmap.GetPixelSpan(), bitmap.Width, bitmap.Height, bitmap.ColorType == SKColorType.Bgra8888);

    /// <summary>
    /// ML.NET ImageAnalytics 6.0's <c>MLImage.ResizeWithCrop</c> for the centre anchor, step for step (same rectangles,
    /// same float-to-int truncations, an opaque destination and a Mitchell cubic resampler; ML.NET 5 drew with
    /// FilterQuality.High, so its pixels differ), so direct decoding gives the saved chain's pixels bit for bit.
    /// </summary>
    internal static SKBitmap ResizeIsoCropCentre(SKBitmap source, int width, int height)
    {
        float widthAspect = (float)width / source.Width;
        float heightAspect = (float)height / source.Height;
        int destX = 0, destY = 0;
        float aspect;
        if (heightAspect < widthAspect)
        {
            aspect = widthAspect;
            destY = (int)((height - (source.Height * aspect)) / 2);
        }
        else
        {
            aspect = heightAspect;
            destX = (int)((width - (source.Width * aspect)) / 2);
        }
        int destWidth = (int)(source.Width * aspect);
        int destHeight = (int)(source.Height * aspect);
        var dst = new SKBitmap(width, height, isOpaque: true);
        var srcRect = new SKRect(0, 0, source.Width, source.Height);
        var destRect = new SKRect(destX, destY, destX + destWidth, destY + destHeight);
        using var canvas = new SKCanvas(dst);
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, srcRect, destRect, new SKSamplingOptions(SKCubicResampler.Mitchell));
        return dst;
    }
}
