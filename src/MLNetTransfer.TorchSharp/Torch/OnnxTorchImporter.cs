using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransfer.Onnx;
using SkiaSharp;
using TorchSharp;

namespace MLNetTransfer.Torch;

/// <summary>Imports ONNX image classifiers as trainable TorchSharp modules (int8 QOperator models via their fp32 twin).</summary>
public static class OnnxTorchImporter
{
    /// <summary>Loads and imports a model file.</summary>
    public static OnnxTorchModule Import(string path) => Import(OnnxModel.Load(path));

    /// <summary>
    /// Imports a model: quantized graphs are first rewritten by <see cref="OnnxDequantizer.ToFloat"/>; every operator is
    /// checked before anything runs (an unsupported one is an <see cref="UnsupportedOperatorException"/> naming the node).
    /// </summary>
    public static OnnxTorchModule Import(OnnxModel model)
    {
        var floatModel = OnnxDequantizer.IsQuantized(model) ? OnnxDequantizer.ToFloat(model) : model;
        var input = OnnxGraphEdits.ImageInput(floatModel);
        var output = floatModel.Graph.Output.FirstOrDefault()?.Name
            ?? throw new OnnxFormatException($"{model.Source}: the graph declares no output.");
        return new OnnxTorchModule(floatModel, input.Name!, output);
    }

    /// <summary>The image side <see cref="Verify(OnnxModel, OnnxTorchModule, IReadOnlyList{string}, int, ImageNormalization?)"/> uses by default: ImageNet classifiers' 224.</summary>
    public const int DefaultVerifySize = 224;

    /// <summary>
    /// Runs <paramref name="model"/> in ONNX Runtime and its import <paramref name="module"/> in TorchSharp on the same images
    /// (decoded, resized to <paramref name="size"/>² and normalized; default ImageNet statistics) and compares the outputs.
    /// </summary>
    /// <exception cref="ArgumentException">No image file given.</exception>
    public static ImportCheck Verify(OnnxModel model, OnnxTorchModule module, IReadOnlyList<string> imageFiles, int size = DefaultVerifySize,
        ImageNormalization? normalization = null)
    {
        if (imageFiles.Count == 0) throw new ArgumentException("Verify needs at least one image.", nameof(imageFiles));
        var n = normalization ?? ImageNormalization.ImageNet;
        var input = new float[imageFiles.Count * 3 * size * size];
        var planes = n.SourcePlanes;
        for (int i = 0; i < imageFiles.Count; i++)
        {
            using var decoded = SKBitmap.Decode(imageFiles[i]) ?? throw new InvalidDataException($"{imageFiles[i]}: not a readable image.");
            using var bitmap = decoded.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), MLNetTransfer.Data.RawImage.Medium);
            var px = bitmap.GetPixelSpan();
            for (int p = 0; p < size * size; p++)
                for (int c = 0; c < 3; c++)
                    input[(i * 3 + c) * size * size + p] = (px[p * 4 + planes[c]] / 255f * n.PixelScale - n.Mean[c]) / n.Std[c];
        }
        return Verify(model, module, input, imageFiles.Count, size, size);
    }

    /// <summary>
    /// Compares <paramref name="module"/> (the import of <paramref name="model"/>) with ONNX Runtime on prepared input
    /// [<paramref name="count"/>, 3, <paramref name="height"/>, <paramref name="width"/>]: the largest output difference against
    /// the fp32 twin (the same math, so float rounding only), and top-1 agreement with the original model.
    /// </summary>
    public static ImportCheck Verify(OnnxModel model, OnnxTorchModule module, float[] input, int count, int height, int width)
    {
        var symbolic = OnnxModel.Parse(model.ToByteArray(), model.Source);
        OnnxGraphEdits.MakeInputDimsSymbolic(symbolic, module.InputName, "N", null, "H", "W");
        bool quantized = OnnxDequantizer.IsQuantized(symbolic);
        var twin = quantized ? OnnxDequantizer.ToFloat(symbolic) : symbolic;
        long[] shape = [count, 3, height, width];
        float[] Ort(OnnxModel m)
        {
            using var session = new InferenceSession(m.ToByteArray());
            using var runOptions = new RunOptions();
            using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
            using var results = session.Run(runOptions, [module.InputName], [value], [session.OutputNames[0]]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        var reference = Ort(twin);
        float[] torchOut;
        using (torch.no_grad())
        {
            module.eval();
            using var scope = torch.NewDisposeScope();
            torchOut = module.forward(torch.tensor(input, [count, 3, height, width])).data<float>().ToArray();
        }
        var original = quantized ? Ort(symbolic) : reference;
        int classes = reference.Length / count, agree = 0;
        for (int i = 0; i < count; i++)
            if (Scores.ArgMax(original.AsSpan(i * classes, classes)) == Scores.ArgMax(torchOut.AsSpan(i * classes, classes)))
                agree++;
        return new ImportCheck(count, reference.Zip(torchOut, (a, b) => Math.Abs(a - b)).Max(), reference.Max(Math.Abs), agree,
            module.parameters().Sum(p => p.numel()));
    }
}
