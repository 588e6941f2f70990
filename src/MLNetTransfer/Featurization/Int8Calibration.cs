using Microsoft.ML.OnnxRuntime;
using MLNetTransfer.Backbones;
using MLNetTransfer.Onnx;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Static int8 quantization of a float backbone for featurization: measures, on calibration images, the range each
/// activation between the int8 operators takes, and returns the backbone with those ranges
/// (<see cref="BackboneInfo.Int8Ranges"/>), after which every featurization path runs it in int8.
/// </summary>
public static class Int8Calibration
{
    /// <summary>Images a calibration reads by default: enough for stable ranges, a few seconds of work.</summary>
    public const int DefaultImageCount = 256;

    private const int BatchSize = 16;

    /// <summary>
    /// Runs the float network on <paramref name="imagePaths"/> (preprocessed exactly as featurization does it) and records,
    /// for each activation that int8 featurization encodes as uint8, the mean over batches of 16 images of the batch
    /// minimum and maximum: a batch's extreme values set the range, averaging keeps a single outlier from widening it.
    /// Use images like the ones you will featurize; the result is deterministic for the same images in the same order.
    /// </summary>
    /// <param name="backbone">A float backbone (or one with <see cref="BackboneInfo.RunAsFloat"/>) built from Conv, BatchNormalization,
    /// ReLU, Add and pooling, as ResNets are.</param>
    /// <param name="imagePaths">Calibration images; the first <paramref name="maxImages"/> are read.</param>
    /// <param name="assets">Where the backbone's files are found. Default <see cref="AssetResolver.Default"/>.</param>
    /// <param name="imageSize">The size featurization will run at. Default the backbone's own.</param>
    /// <param name="maxImages">How many images to read. Default <see cref="DefaultImageCount"/>.</param>
    /// <returns>The backbone named <c>NAME-int8</c>, with the ranges.</returns>
    /// <exception cref="ArgumentException">No images, or the backbone is already int8.</exception>
    /// <exception cref="InvalidDataException">An image cannot be decoded (the message names the file).</exception>
    public static BackboneInfo Calibrate(BackboneInfo backbone, IEnumerable<string> imagePaths, AssetResolver? assets = null,
        int? imageSize = null, int maxImages = DefaultImageCount)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxImages, 1);
        assets ??= AssetResolver.Default;
        var paths = imagePaths.Take(maxImages).ToList();
        if (paths.Count == 0) throw new ArgumentException("Calibration needs at least one image.", nameof(imagePaths));
        var source = backbone with { Int8Ranges = null };
        var model = FeaturizerGraph.BuildFloatNetwork(source, assets, "mlnt_calibration_embedding");
        if (OnnxDequantizer.IsQuantized(model))
            throw new ArgumentException($"Backbone '{backbone.Name}' is already quantized; calibrate its float twin (RunAsFloat).", nameof(backbone));
        OnnxInt8Quantizer.FoldBatchNormalization(model);
        int networkSize = backbone.NetworkSizeFor(imageSize ?? backbone.InputSize);
        var (width, height) = DecodeSize.ForFiles(paths, networkSize);
        var ranges = MeasureRanges(model, m => FeaturizerGraph.PrependPreprocessing(m, source, assets, networkSize), FeaturizerGraph.InputName,
            paths.Chunk(BatchSize).Select(batch =>
            {
                int plane = width * height;
                var pixels = new float[batch.Length * 3 * plane];
                for (int i = 0; i < batch.Length; i++)
                    MlImagePlanes.DecodeScaled(File.ReadAllBytes(batch[i]), batch[i], width, height, pixels.AsSpan(i * 3 * plane, 3 * plane));
                return (pixels, new long[] { batch.Length, 3, height, width });
            }));
        return source with { Name = backbone.Name + "-int8", Int8Ranges = ranges, Description = $"{backbone.Name} in int8, calibrated on {paths.Count} images" };
    }

    /// <summary>
    /// The ranges <see cref="OnnxInt8Quantizer.Quantize"/> needs, measured on a float model whose BatchNormalization is
    /// already folded: each range is the mean over <paramref name="batches"/> of the batch minimum and maximum.
    /// </summary>
    /// <param name="model">The float model (not modified).</param>
    /// <param name="prepareInput">Edits applied after the tensors are exposed (e.g. prepending preprocessing), or null.</param>
    /// <param name="inputName">The input the batches feed.</param>
    /// <param name="batches">Float input batches with their shapes.</param>
    internal static Dictionary<string, ActivationRange> MeasureRanges(OnnxModel model, Action<OnnxModel>? prepareInput, string inputName,
        IEnumerable<(float[] Data, long[] Shape)> batches)
    {
        var probe = OnnxModel.Parse(model.ToByteArray(), model.Source);
        var tensors = OnnxInt8Quantizer.CalibrationTensors(probe);
        foreach (var t in tensors) OnnxGraphEdits.ExposeTensorAsOutput(probe, t, OnnxDataType.Float, [null, null, null, null]);
        prepareInput?.Invoke(probe);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(probe.ToByteArray(), options);
        using var runOptions = new RunOptions(); // held for the whole loop: a GC must not finalize it during a native call
        var sums = new (double Min, double Max)[tensors.Count];
        int count = 0;
        foreach (var (data, shape) in batches)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
            using var outputs = session.Run(runOptions, [inputName], [input], [.. tensors]);
            for (int k = 0; k < tensors.Count; k++)
            {
                float lo = float.MaxValue, hi = float.MinValue;
                foreach (var v in outputs[k].GetTensorDataAsSpan<float>()) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                sums[k] = (sums[k].Min + lo, sums[k].Max + hi);
            }
            count++;
        }
        if (count == 0) throw new ArgumentException("Calibration needs at least one batch.", nameof(batches));
        return tensors.Select((t, k) => (t, k)).ToDictionary(x => x.t, x => new ActivationRange((float)(sums[x.k].Min / count), (float)(sums[x.k].Max / count)));
    }
}
