using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>A network trained by <see cref="TransferLearningTrainer"/>: body (cut at the embedding) + head, and how to feed it.</summary>
public sealed class TrainedNetwork : IDisposable
{
    internal TrainedNetwork(OnnxTorchModule body, nn.Module<Tensor, Tensor> head, IReadOnlyList<string> labels, int imageSize,
        float[] mean, float[] std, IReadOnlyList<EpochMetrics> history, string? stopReason)
    {
        Body = body;
        Head = head;
        Labels = labels;
        ImageSize = imageSize;
        Mean = mean;
        Std = std;
        History = history;
        StopReason = stopReason;
    }

    /// <summary>The backbone (or scratch CNN), returning the pooled embedding.</summary>
    public OnnxTorchModule Body { get; }
    /// <summary>The classifier head.</summary>
    public nn.Module<Tensor, Tensor> Head { get; }
    /// <summary>Class names in output order.</summary>
    public IReadOnlyList<string> Labels { get; }
    /// <summary>Side of the square image the network sees.</summary>
    public int ImageSize { get; }
    /// <summary>Normalization mean (RGB, [0,1] scale).</summary>
    public float[] Mean { get; }
    /// <summary>Normalization std (RGB).</summary>
    public float[] Std { get; }
    /// <summary>Per-epoch metrics.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }
    /// <summary>Why training ended before the last epoch (early stopping, NaN loss), or null.</summary>
    public string? StopReason { get; }

    /// <summary>
    /// The network as an fp32 ONNX model taking float RGB in [0,1] of any size as <c>mlnt_pixels</c> [N,3,H,W] (what ML.NET's
    /// ExtractPixels with scale 1/255 produces), resizing and normalizing inside, and returning <c>Score</c> (probabilities)
    /// and <c>PredictedLabel</c> (class name).
    /// </summary>
    public OnnxModel Export() => TorchOnnxExporter.Export(Body, (IExportableHead)Head, new ExportOptions
    {
        Labels = Labels,
        Preprocessing = new PreprocessingSpec
        {
            InputName = Featurization.FeaturizerGraph.InputName, Layout = PixelLayout.FloatNchw01, Mean = Mean, Std = Std,
            ResizeTo = (ImageSize, ImageSize),
        },
    });

    /// <summary>Class probabilities for decoded images, in batches.</summary>
    public float[][] Predict(ImagePixelStore images, int batchSize = 64)
    {
        Body.eval();
        Head.eval();
        var transforms = new BatchTransforms(ImageSize, Mean, Std);
        var result = new float[images.Count][];
        using var _ = torch.no_grad();
        for (int start = 0; start < images.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            int n = Math.Min(batchSize, images.Count - start);
            var x = transforms.ToInput(images.Batch([.. Enumerable.Range(start, n)]));
            var p = nn.functional.softmax(Head.forward(Body.forward(x).flatten(1)), 1).data<float>().ToArray();
            for (int i = 0; i < n; i++) result[start + i] = p[(i * Labels.Count)..((i + 1) * Labels.Count)];
        }
        return result;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Body.Dispose();
        Head.Dispose();
    }
}
