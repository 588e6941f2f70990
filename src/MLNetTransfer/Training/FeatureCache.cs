using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>
/// The bottleneck cache: the frozen part of the network runs once per image (no augmentation means its output never
/// changes) and epochs then train only the rest. Values are kept as float arrays per image: for the embedding that is
/// 5 KB per image (MobileNetV2, 1280-d).
/// </summary>
internal sealed class FeatureCache : IDisposable
{
    private readonly float[][] train;
    private readonly float[][] validation;
    private readonly long[] shape;

    private FeatureCache(float[][] train, float[][] validation, long[] shape)
    {
        this.train = train;
        this.validation = validation;
        this.shape = shape;
    }

    public static FeatureCache Build(OnnxTorchModule body, int frozen, int bodyBlocks, BatchTransforms transforms,
        ImagePixelStore train, ImagePixelStore? validation, int batchSize)
    {
        body.eval();
        long[] shape = [];
        float[][] Compute(ImagePixelStore images)
        {
            var result = new float[images.Count][];
            using var _ = torch.no_grad();
            for (int start = 0; start < images.Count; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                int n = Math.Min(batchSize, images.Count - start);
                var x = transforms.ToInput(images.Batch([.. Enumerable.Range(start, n)]));
                var y = frozen >= bodyBlocks ? body.forward(x) : body.ForwardTo(x, frozen);
                shape = y.shape[1..];
                var data = y.contiguous().data<float>().ToArray();
                int per = data.Length / n;
                for (int i = 0; i < n; i++) result[start + i] = data[(i * per)..((i + 1) * per)];
            }
            return result;
        }
        var t = Compute(train);
        var v = validation is null ? [] : Compute(validation);
        body.train();
        return new FeatureCache(t, v, shape);
    }

    /// <summary>Cached values of a batch as one tensor [B, ...].</summary>
    public Tensor Batch(int[] indices, bool validation)
    {
        var source = validation ? this.validation : train;
        int per = source[indices[0]].Length;
        var data = new float[indices.Length * per];
        for (int i = 0; i < indices.Length; i++) source[indices[i]].CopyTo(data, i * per);
        return torch.tensor(data, [indices.Length, .. shape]);
    }

    public void Dispose() { }
}
