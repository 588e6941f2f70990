using System.Collections.Concurrent;
using MLNetTransfer.Onnx;

namespace MLNetTransfer.Backbones;

/// <summary>Reads a per-pixel mean image from the ONNX file that holds it (once per file and tensor).</summary>
internal static class MeanImageFile
{
    private static readonly ConcurrentDictionary<(string Path, string Tensor), float[]> Loaded = new();

    public static float[] Load(MeanImageSource source, AssetResolver assets)
    {
        var path = assets.Resolve(source.Asset);
        return Loaded.GetOrAdd((path, source.TensorName), key =>
        {
            var model = OnnxModel.Load(key.Path);
            var tensor = model.Graph.FindInitializer(key.Tensor)
                ?? throw new OnnxFormatException($"{key.Path}: no initializer named '{key.Tensor}' (the mean image).");
            var values = tensor.ToFloatArray();
            return values.Length == 3 * source.Size * source.Size ? values
                : throw new OnnxFormatException($"{key.Path}: '{key.Tensor}' has {values.Length} values; a 3×{source.Size}×{source.Size} mean image expected.");
        });
    }
}
