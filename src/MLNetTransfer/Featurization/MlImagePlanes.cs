using Microsoft.ML.Data;
using SkiaSharp;

namespace MLNetTransfer.Featurization;

/// <summary>Decodes encoded image bytes with ML.NET's <see cref="MLImage"/> (the decoder behind LoadImages) into RGB planes.</summary>
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
        MLImage image;
        try { image = MLImage.CreateFromStream(new MemoryStream(encoded, writable: false)); }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new InvalidDataException($"{source}: corrupt or unsupported image ({ex.Message})", ex);
        }
        using (image)
        {
            var pixels = image.Pixels;
            bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
            int w = image.Width, h = image.Height;
            if (w != width || h != height)
            {
                // Other sizes: resize like ML.NET's ResizeImages would be asked to (bilinear), from the decoded pixels.
                using var bitmap = new SKBitmap(new SKImageInfo(w, h, bgra ? SKColorType.Bgra8888 : SKColorType.Rgba8888, SKAlphaType.Unpremul));
                System.Runtime.InteropServices.Marshal.Copy(pixels.ToArray(), 0, bitmap.GetPixels(), pixels.Length);
                using var resized = bitmap.Resize(new SKImageInfo(width, height, bitmap.ColorType, SKAlphaType.Unpremul), SKFilterQuality.Medium);
                return Data.RawImage.InterleavedToPlanes(resized.GetPixelSpan(), width, height, bgra);
            }
            return Data.RawImage.InterleavedToPlanes(pixels, w, h, bgra);
        }
    }
}
