using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransfer.Onnx;
using SkiaSharp;

namespace MLNetTransfer.Tests.Onnx;

/// <summary>Runs ONNX models with ONNX Runtime and prepares real CIFAR images as inputs.</summary>
internal static class OrtRunner
{
    public static Dictionary<string, (float[] Data, int[] Shape)> Run(OnnxModel model, string inputName, float[] data, int[] shape, params string[] outputs) =>
        Run(model.ToByteArray(), inputName, new DenseTensor<float>(data, shape), outputs);

    public static Dictionary<string, (float[] Data, int[] Shape)> Run<T>(byte[] model, string inputName, DenseTensor<T> input, params string[] outputs)
        where T : unmanaged
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(model, options);
        using var runOptions = new RunOptions();
        string[] names = outputs.Length > 0 ? outputs : [.. session.OutputNames];
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.Buffer, [.. input.Dimensions.ToArray().Select(d => (long)d)]);
        using var results = session.Run(runOptions, [inputName], [value], names);
        var outputsByName = new Dictionary<string, (float[] Data, int[] Shape)>();
        for (int i = 0; i < names.Length; i++)
        {
            var info = results[i].GetTensorTypeAndShape();
            float[] data = info.ElementDataType == TensorElementType.UInt8
                ? [.. results[i].GetTensorDataAsSpan<byte>().ToArray().Select(v => (float)v)]
                : results[i].GetTensorDataAsSpan<float>().ToArray();
            outputsByName[names[i]] = (data, [.. info.Shape.Select(d => (int)d)]);
        }
        return outputsByName;
    }

    /// <summary>Real CIFAR test images resized to size×size (Skia bilinear), as RGBA bytes.</summary>
    public static List<byte[]> CifarRgba(int count, int size)
    {
        var files = Directory.GetDirectories(TestAssets.Cifar10Test).Order().SelectMany(d => Directory.GetFiles(d).Order().Take((count + 9) / 10)).Take(count);
        var result = new List<byte[]>();
        foreach (var f in files)
        {
            using var original = SKBitmap.Decode(f);
            using var bitmap = original.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), MLNetTransfer.Data.RawImage.Medium);
            result.Add(bitmap.GetPixelSpan().ToArray());
        }
        return result;
    }

    /// <summary>One image file resized to size×size RGBA bytes.</summary>
    public static byte[] CifarRgba(string file, int size)
    {
        using var original = SKBitmap.Decode(file);
        using var bitmap = original.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul), MLNetTransfer.Data.RawImage.Medium);
        return bitmap.GetPixelSpan().ToArray();
    }

    /// <summary>ImageNet-normalized NCHW floats from RGBA images.</summary>
    public static float[] Normalize(List<byte[]> rgba, int size)
    {
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        int plane = size * size;
        var data = new float[rgba.Count * 3 * plane];
        for (int n = 0; n < rgba.Count; n++)
            for (int p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++)
                    data[(n * 3 + c) * plane + p] = (rgba[n][p * 4 + c] / 255f - mean[c]) / std[c];
        return data;
    }
}
