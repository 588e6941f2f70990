using MLNetTransfer.Onnx;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNetTransfer.Training;

/// <summary>
/// Turns uint8 batches into network input the way the exported graph does (bilinear half-pixel resize, then per-channel
/// normalization: channel order, pixel scale, mean, mean image, std), with optional seeded augmentation in between for training.
/// </summary>
internal sealed class BatchTransforms
{
    private readonly int imageSize;
    private readonly Tensor? planes;
    private readonly Tensor scale;
    private readonly Tensor shift;

    /// <summary>RGB networks normalized by a per-channel mean and std on the [0,1] scale.</summary>
    public BatchTransforms(int imageSize, float[] mean, float[] std) : this(imageSize, new ImageNormalization(mean, std)) { }

    /// <summary>Any <see cref="ImageNormalization"/>; the same arithmetic as the exported graph's prologue.</summary>
    public BatchTransforms(int imageSize, ImageNormalization normalization)
    {
        normalization.Validate();
        this.imageSize = imageSize;
        if (normalization.ChannelOrder != ChannelOrder.Rgb) planes = torch.tensor(normalization.SourcePlanes.Select(i => (long)i).ToArray());
        scale = torch.tensor(normalization.Std.Select(s => normalization.PixelScale / s).ToArray()).reshape(1, 3, 1, 1);
        var b = normalization.Mean.Select((m, c) => -m / normalization.Std[c]).ToArray();
        var offset = normalization.OffsetImage(imageSize);
        shift = offset is null ? torch.tensor(b).reshape(1, 3, 1, 1)
            : torch.tensor(offset, [1, 3, imageSize, imageSize]).neg().add(torch.tensor(b).reshape(1, 3, 1, 1));
    }

    /// <summary>uint8 [B,3,h,w] → normalized float [B,3,S,S]; augmentation only when <paramref name="random"/> is given.</summary>
    public Tensor ToInput(Tensor bytes, Augment augment = Augment.None, Random? random = null)
    {
        var x = bytes.to_type(ScalarType.Float32) / 255f;
        if (augment != Augment.None && random is not null) x = Apply(x, augment, random);
        if (x.shape[2] != imageSize || x.shape[3] != imageSize)
            x = F.interpolate(x, [imageSize, imageSize], mode: InterpolationMode.Bilinear, align_corners: false);
        if (planes is not null) x = x.index_select(1, planes);
        return x * scale + shift;
    }

    // Per-image random choices come from a seeded System.Random so runs (and resumed runs) repeat exactly.
    private static Tensor Apply(Tensor x, Augment augment, Random random)
    {
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        if (augment.HasFlag(Augment.Crop))
        {
            long pad = Math.Max(1, h / 8);
            var padded = F.pad(x, [pad, pad, pad, pad], PaddingModes.Reflect);
            var crops = new Tensor[n];
            for (int i = 0; i < n; i++)
            {
                long dy = random.Next((int)(2 * pad + 1)), dx = random.Next((int)(2 * pad + 1));
                crops[i] = padded[i].narrow(1, dy, h).narrow(2, dx, w);
            }
            x = torch.stack(crops);
        }
        if (augment.HasFlag(Augment.Flip))
        {
            var flip = Enumerable.Range(0, (int)n).Select(_ => random.NextDouble() < 0.5).ToArray();
            var mask = torch.tensor(flip).reshape(n, 1, 1, 1);
            x = torch.where(mask, x.flip(3), x);
        }
        if (augment.HasFlag(Augment.Rotate))
        {
            var theta = new float[n * 6];
            for (int i = 0; i < n; i++)
            {
                double a = (random.NextDouble() * 2 - 1) * Math.PI / 18; // ±10°
                theta[i * 6] = (float)Math.Cos(a); theta[i * 6 + 1] = (float)-Math.Sin(a);
                theta[i * 6 + 3] = (float)Math.Sin(a); theta[i * 6 + 4] = (float)Math.Cos(a);
            }
            var grid = F.affine_grid(torch.tensor(theta, [n, 2, 3]), [n, 3, h, w], align_corners: false);
            x = F.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection, align_corners: false);
        }
        if (augment.HasFlag(Augment.ColorJitter))
        {
            var factors = new float[n * 3];
            for (int i = 0; i < factors.Length; i++) factors[i] = (float)(0.8 + 0.4 * random.NextDouble());
            var f = torch.tensor(factors, [n, 3, 1, 1]);
            var brightness = f[.., 0..1];
            var contrast = f[.., 1..2];
            var saturation = f[.., 2..3];
            x = x * brightness;
            var mean = x.mean([1L, 2L, 3L], keepdim: true);
            x = (x - mean) * contrast + mean;
            var gray = x.mean([1L], keepdim: true);
            x = ((x - gray) * saturation + gray).clamp(0f, 1f);
        }
        return x;
    }
}
