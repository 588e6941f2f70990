using MLNetTransfer.Onnx;

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
}
