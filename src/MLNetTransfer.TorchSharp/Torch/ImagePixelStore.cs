using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransfer.Torch;

/// <summary>
/// Training images decoded once by ML.NET ImageAnalytics (LoadImages → ResizeImages → ExtractPixels, exactly what the
/// exported model's ML.NET chain does at prediction time) and kept as uint8 RGB planes at the decode size: 3 KB per
/// CIFAR image, so 50,000 images take 150 MB; float tensors are only ever made per batch.
/// </summary>
public sealed class ImagePixelStore
{
    private readonly byte[] pixels;

    private ImagePixelStore(byte[] pixels, int count, int width, int height)
    {
        this.pixels = pixels;
        Count = count;
        Width = width;
        Height = height;
    }

    /// <summary>Images held.</summary>
    public int Count { get; }
    /// <summary>Decode width.</summary>
    public int Width { get; }
    /// <summary>Decode height.</summary>
    public int Height { get; }
    /// <summary>Bytes per image (3·W·H).</summary>
    public int ImageBytes => 3 * Width * Height;

    /// <summary>Decodes image files at (width, height); a file that does not decode is an error naming it.</summary>
    public static ImagePixelStore Decode(IReadOnlyList<string> paths, int width, int height, Action<long>? progress = null)
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        var decode = ml.Transforms.LoadImages("image", null, nameof(PathRow.ImagePath))
            .Append(ml.Transforms.ResizeImages("image", width, height, "image"))
            .Append(ml.Transforms.ExtractPixels("pixels", "image", outputAsFloatArray: false))
            .Fit(view).Transform(view);
        return FromDecoded(decode, "pixels", paths.Count, width, height, (row, ex) =>
        {
            var bad = paths.Skip(Math.Max(0, row - 1)).FirstOrDefault(p => Data.ImageFolder.Check(p) is not null || !Decodes(p)) ?? paths[Math.Min(row, paths.Count - 1)];
            return new InvalidDataException($"{bad}: corrupt or unsupported image ({ex.GetBaseException().Message})", ex);
        }, progress);
    }

    /// <summary>
    /// Reads a byte-pixel column (ExtractPixels with <c>outputAsFloatArray: false</c>, CHW at width × height) of
    /// <paramref name="count"/> rows; <paramref name="error"/> turns a decode failure at a row into the error to throw.
    /// </summary>
    internal static ImagePixelStore FromDecoded(IDataView decoded, string column, int count, int width, int height,
        Func<int, Exception, Exception> error, Action<long>? progress = null)
    {
        int size = 3 * width * height;
        var buffer = new byte[(long)count * size];
        using var cursor = decoded.GetRowCursor([decoded.Schema[column]]);
        var getter = cursor.GetGetter<VBuffer<byte>>(decoded.Schema[column]);
        VBuffer<byte> value = default;
        int row = 0;
        try
        {
            while (cursor.MoveNext())
            {
                getter(ref value);
                value.GetValues().CopyTo(buffer.AsSpan(row * size, size));
                if (++row % 256 == 0) progress?.Invoke(row);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw error(row, ex);
        }
        return new ImagePixelStore(buffer, count, width, height);
    }

    /// <summary>Images given as RGB planes (CHW) or one gray plane (replicated to RGB), all of one size.</summary>
    public static ImagePixelStore FromPlanes(IReadOnlyList<byte[]> images, int width, int height)
    {
        int plane = width * height, size = 3 * plane;
        var buffer = new byte[(long)images.Count * size];
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            if (image.Length == size) image.CopyTo(buffer, (long)i * size);
            else if (image.Length == plane) for (int c = 0; c < 3; c++) image.CopyTo(buffer, (long)i * size + c * plane);
            else throw new ArgumentException($"image {i} has {image.Length} bytes; expected {plane} (gray) or {size} (RGB) for {width}x{height}.");
        }
        return new ImagePixelStore(buffer, images.Count, width, height);
    }

    /// <summary>A batch as a uint8 tensor [B, 3, H, W].</summary>
    public TorchSharp.torch.Tensor Batch(ReadOnlySpan<int> indices)
    {
        int size = ImageBytes;
        var data = new byte[indices.Length * size];
        for (int i = 0; i < indices.Length; i++) pixels.AsSpan(indices[i] * size, size).CopyTo(data.AsSpan(i * size));
        return TorchSharp.torch.tensor(data, [indices.Length, 3, Height, Width], TorchSharp.torch.ScalarType.Byte);
    }

    private static bool Decodes(string path)
    {
        try { using var b = SkiaSharp.SKBitmap.Decode(path); return b is not null; }
        catch (Exception) { return false; }
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }
}
