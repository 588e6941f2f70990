using MLNetTransfer.IO;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Insight;

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017): the gradient of a class score with respect to the last convolutional feature map
/// (or a chosen block's output), averaged per channel, weights that map; its ReLU is where the network looked.
/// </summary>
public static class GradCam
{
    /// <summary>
    /// The heat map (values in [0,1], image size) of <paramref name="classIndex"/> for one image already transformed to
    /// network input [1,3,S,S]. <paramref name="block"/>: the block whose output is explained; default the last body block.
    /// </summary>
    public static float[,] Compute(TrainedNetwork network, Tensor input, int classIndex, int? block = null)
    {
        var body = network.Body;
        int bodyBlocks = body.Blocks.Count(b => b.Name != "head");
        int k = Math.Clamp(block ?? bodyBlocks, 1, bodyBlocks);
        body.eval();
        network.Head.eval();
        using var scope = torch.NewDisposeScope();
        Tensor features;
        using (torch.no_grad()) features = body.ForwardTo(input, k).detach();
        if (features.dim() != 4) throw new ArgumentException($"block {k} output has rank {features.dim()}; Grad-CAM needs a feature map [1,C,h,w].");
        features.requires_grad_(true);
        var logits = network.Head.forward(body.ForwardFrom(features, k).flatten(1));
        logits[0, classIndex].backward();
        var weights = features.grad!.mean([2L, 3L], keepdim: true);
        var cam = nn.functional.relu((weights * features).sum(1, keepdim: true));
        cam = nn.functional.interpolate(cam, [input.shape[2], input.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
        float max = cam.max().item<float>();
        if (max > 0) cam = cam / max;
        var data = cam.detach().data<float>().ToArray();
        int h = (int)input.shape[2], w = (int)input.shape[3];
        var map = new float[h, w];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) map[y, x] = data[y * w + x];
        return map;
    }

    /// <summary>Grad-CAM of one image file: decoded as the model was trained, explained for a class (default: the predicted one).</summary>
    public static (float[,] Map, int ClassIndex, float Probability) Explain(TrainedNetwork network, string imagePath, string? className = null, int decodeWidth = 0, int decodeHeight = 0)
    {
        using var original = SKBitmap.Decode(imagePath) ?? throw new InvalidDataException($"{imagePath}: corrupt or unsupported image.");
        var store = ImagePixelStore.Decode([imagePath], decodeWidth > 0 ? decodeWidth : original.Width, decodeHeight > 0 ? decodeHeight : original.Height);
        var probabilities = network.Predict(store)[0];
        int cls = className is null ? Array.IndexOf(probabilities, probabilities.Max())
            : network.Labels.ToList().IndexOf(className) is var i and >= 0 ? i
            : throw new ArgumentException($"Unknown class '{className}'. Classes: {string.Join(", ", network.Labels)}.");
        using var scope = torch.NewDisposeScope();
        var x = new BatchTransforms(network.ImageSize, network.Normalization).ToInput(store.Batch([0]));
        return (Compute(network, x, cls), cls, probabilities[cls]);
    }

    /// <summary>Overlays the map on the image (red = high) at the map's size, writes a PNG and returns the picture.</summary>
    public static Evaluation.PngImage SaveOverlay(string imagePath, float[,] map, string outPath, float alpha = 0.5f)
    {
        int h = map.GetLength(0), w = map.GetLength(1);
        using var original = SKBitmap.Decode(imagePath) ?? throw new InvalidDataException($"{imagePath}: corrupt or unsupported image.");
        using var image = original.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), MLNetTransfer.Data.RawImage.Medium);
        using var output = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var c = image.GetPixel(x, y);
                var (r, g, b) = Jet(map[y, x]);
                output.SetPixel(x, y, new SKColor((byte)(c.Red * (1 - alpha) + r * alpha), (byte)(c.Green * (1 - alpha) + g * alpha), (byte)(c.Blue * (1 - alpha) + b * alpha)));
            }
        using var encoded = SKImage.FromBitmap(output).Encode(SKEncodedImageFormat.Png, 100);
        var picture = new Evaluation.PngImage(encoded.ToArray());
        AtomicFile.WriteAllBytes(outPath, picture.Bytes);
        return picture;
    }

    private static (byte, byte, byte) Jet(float v)
    {
        v = Math.Clamp(v, 0, 1);
        float r = Math.Clamp(1.5f - Math.Abs(4 * v - 3), 0, 1), g = Math.Clamp(1.5f - Math.Abs(4 * v - 2), 0, 1), b = Math.Clamp(1.5f - Math.Abs(4 * v - 1), 0, 1);
        return ((byte)(r * 255), (byte)(g * 255), (byte)(b * 255));
    }
}
