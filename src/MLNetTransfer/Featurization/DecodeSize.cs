using SkiaSharp;

namespace MLNetTransfer.Featurization;

/// <summary>
/// The one rule for the size ML.NET decodes images to before the ONNX graph resizes them to the network's input: small
/// images that all share one size (CIFAR's 32×32, MNIST's 28×28) keep it, so the upscale happens once, in the graph;
/// anything else is decoded at the network's size. Used by the featurizer and by fine-tuning, so both see the same pixels.
/// </summary>
internal static class DecodeSize
{
    /// <summary>How many images' headers are read to decide.</summary>
    public const int Sample = 64;

    /// <summary>The decode size for images at <paramref name="paths"/> (missing or unreadable files are skipped: they are reported when decoded).</summary>
    public static (int Width, int Height) ForFiles(IEnumerable<string> paths, int networkSize) =>
        Choose(paths.Take(Sample).Select(path => File.Exists(path) ? SKCodec.Create(path) : null), networkSize);

    /// <summary>The decode size for encoded images.</summary>
    public static (int Width, int Height) ForEncoded(IEnumerable<byte[]> images, int networkSize) =>
        Choose(images.Take(Sample).Select(bytes => SKCodec.Create(new SKMemoryStream(bytes))), networkSize);

    private static (int Width, int Height) Choose(IEnumerable<SKCodec?> codecs, int networkSize)
    {
        var sizes = new HashSet<(int, int)>();
        foreach (var codec in codecs)
        {
            if (codec is null) continue;
            using (codec) sizes.Add((codec.Info.Width, codec.Info.Height));
        }
        return sizes.Count == 1 && sizes.First() is var (w, h) && w <= networkSize && h <= networkSize ? (w, h) : (networkSize, networkSize);
    }
}
