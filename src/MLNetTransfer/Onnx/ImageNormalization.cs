namespace MLNetTransfer.Onnx;

/// <summary>Order of the colour planes a network expects.</summary>
public enum ChannelOrder
{
    /// <summary>Red, green, blue (torchvision, ONNX Model Zoo).</summary>
    Rgb,
    /// <summary>Blue, green, red (Caffe and CNTK exports, e.g. ML.NET's ResNet-18).</summary>
    Bgr,
}

/// <summary>
/// How RGB pixels in [0,1] become a network's input: reorder the planes to <see cref="ChannelOrder"/>, multiply by
/// <see cref="PixelScale"/>, subtract <see cref="Mean"/> and the optional per-pixel <see cref="MeanImage"/>, divide by
/// <see cref="Std"/>. Every path that feeds a network (featurizer graph, TorchSharp training and prediction, exported
/// models, Grad-CAM) applies this one description, so they agree to rounding.
/// </summary>
/// <param name="Mean">Per-channel mean, in the network's channel order and on its <see cref="PixelScale"/>.</param>
/// <param name="Std">Per-channel standard deviation, same order and scale.</param>
public sealed record ImageNormalization(float[] Mean, float[] Std)
{
    /// <summary>Channel order of the network input. Default <see cref="ChannelOrder.Rgb"/>.</summary>
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    /// <summary>Value of a full-intensity pixel at the network input: 1 ([0,1] pixels) or 255 ([0,255]). Default 1.</summary>
    public float PixelScale { get; init; } = 1f;

    /// <summary>
    /// A per-pixel mean [3, <see cref="MeanImageSize"/>, <see cref="MeanImageSize"/>] (channel-major, network channel order,
    /// on the <see cref="PixelScale"/>) subtracted after <see cref="Mean"/>; resized bilinearly when the network runs at
    /// another size. Default null (per-channel mean only).
    /// </summary>
    public float[]? MeanImage { get; init; }

    /// <summary>Side of <see cref="MeanImage"/>. Default 0 (no mean image).</summary>
    public int MeanImageSize { get; init; }

    /// <summary>RGB in [0,1], ImageNet mean and std (torchvision's normalization).</summary>
    public static ImageNormalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>For each network channel, the RGB plane it reads (identity for RGB, 2,1,0 for BGR).</summary>
    public int[] SourcePlanes => ChannelOrder == ChannelOrder.Bgr ? [2, 1, 0] : [0, 1, 2];

    /// <summary>
    /// The per-pixel offset at <paramref name="size"/>×<paramref name="size"/>, divided by <see cref="Std"/> (so the
    /// input is x·scale/std − mean/std − offset), or null without a mean image. Resized with bilinear half-pixel sampling,
    /// the same rule as the in-graph image resize; at the mean image's own size it is the mean image itself.
    /// </summary>
    public float[]? OffsetImage(int size)
    {
        if (MeanImage is null) return null;
        var resized = size == MeanImageSize ? MeanImage : Bilinear(MeanImage, MeanImageSize, size);
        var result = new float[resized.Length];
        int plane = size * size;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++) result[c * plane + i] = resized[c * plane + i] / Std[c];
        return result;
    }

    /// <summary>Checks lengths and values once; the message names the field that is wrong.</summary>
    /// <exception cref="ArgumentException">A mean or std that is not 3 values, a zero std, a scale ≤ 0, or a mean image of the wrong length.</exception>
    public ImageNormalization Validate()
    {
        if (Mean is not { Length: 3 }) throw new ArgumentException($"{nameof(Mean)} needs 3 values (one per channel).");
        if (Std is not { Length: 3 } || Std.Any(s => !(s > 0))) throw new ArgumentException($"{nameof(Std)} needs 3 positive values.");
        if (!(PixelScale > 0)) throw new ArgumentException($"{nameof(PixelScale)} must be positive (1 or 255).");
        if (MeanImage is not null && MeanImage.Length != 3 * MeanImageSize * MeanImageSize)
            throw new ArgumentException($"{nameof(MeanImage)} has {MeanImage.Length} values; 3×{MeanImageSize}×{MeanImageSize} expected.");
        return this;
    }

    // Bilinear, half-pixel centers, edge clamped: ONNX Resize linear/half_pixel and torch interpolate(align_corners=False).
    private static float[] Bilinear(float[] source, int from, int to)
    {
        var result = new float[3 * to * to];
        double ratio = (double)from / to;
        for (int y = 0; y < to; y++)
        {
            double sy = Math.Clamp((y + 0.5) * ratio - 0.5, 0, from - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, from - 1);
            double fy = sy - y0;
            for (int x = 0; x < to; x++)
            {
                double sx = Math.Clamp((x + 0.5) * ratio - 0.5, 0, from - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, from - 1);
                double fx = sx - x0;
                for (int c = 0; c < 3; c++)
                {
                    int p = c * from * from;
                    double top = source[p + y0 * from + x0] * (1 - fx) + source[p + y0 * from + x1] * fx;
                    double bottom = source[p + y1 * from + x0] * (1 - fx) + source[p + y1 * from + x1] * fx;
                    result[c * to * to + y * to + x] = (float)(top * (1 - fy) + bottom * fy);
                }
            }
        }
        return result;
    }
}
