namespace MLNetTransfer.Onnx;

/// <summary>How decoded pixels arrive at a graph's new input.</summary>
public enum PixelLayout
{
    /// <summary>float [N,3,H,W], RGB planes scaled to [0,1] (ML.NET ExtractPixels with scale 1/255).</summary>
    FloatNchw01,
    /// <summary>uint8 [N,H,W,4], RGBA interleaved: a SkiaSharp Rgba8888 bitmap's bytes as they are.</summary>
    Rgba8Nhwc,
    /// <summary>uint8 [N,H,W,3], RGB interleaved.</summary>
    Rgb8Nhwc,
}

/// <summary>Preprocessing to prepend to an image model (see <see cref="OnnxGraphEdits.PrependPreprocessing"/>).</summary>
public sealed record PreprocessingSpec
{
    /// <summary>Name of the new graph input. Default <c>pixels</c>.</summary>
    public string InputName { get; init; } = "pixels";

    /// <summary>Pixel layout of the new input. Default <see cref="PixelLayout.FloatNchw01"/>.</summary>
    public PixelLayout Layout { get; init; } = PixelLayout.FloatNchw01;

    /// <summary>Per-channel mean (RGB, on the [0,1] scale). Default ImageNet's.</summary>
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation (RGB). Default ImageNet's.</summary>
    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// The full normalization (channel order, pixel scale, mean image); when set it replaces <see cref="Mean"/> and
    /// <see cref="Std"/>. Default null (RGB, [0,1] pixels, <see cref="Mean"/> and <see cref="Std"/>).
    /// </summary>
    public ImageNormalization? Normalization { get; init; }

    /// <summary>
    /// When set, a Resize node (bilinear, half-pixel centers, like torchvision's <c>F.interpolate(align_corners=False)</c>)
    /// brings any input size to (height, width). No antialiasing (ONNX Resize has it only from opset 18): meant for
    /// upscaling small images; downscale large photos before the graph. Default null (no resize).
    /// </summary>
    public (int Height, int Width)? ResizeTo { get; init; }
}
