using Microsoft.ML.Data;
using SkiaSharp;

namespace MLNetTransfer.Featurization;

/// <summary>Decodes encoded image bytes with ML.NET's <see cref="MLImage"/> (the decoder behind LoadImages) into RGB planes.</summary>
internal static class MlImagePlanes
{
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
                return ToPlanes(resized.GetPixelSpan(), width, height, bgra);
            }
            return ToPlanes(pixels, w, h, bgra);
        }
    }

    private static byte[] ToPlanes(ReadOnlySpan<byte> px, int width, int height, bool bgra)
    {
        int plane = width * height;
        var chw = new byte[3 * plane];
        int r = bgra ? 2 : 0, b = bgra ? 0 : 2;
        for (int i = 0; i < plane; i++)
        {
            chw[i] = px[i * 4 + r];
            chw[plane + i] = px[i * 4 + 1];
            chw[2 * plane + i] = px[i * 4 + b];
        }
        return chw;
    }
}
