namespace MLNetTransfer.Onnx;

/// <summary>What a user needs to know about an image model before using it (see <see cref="OnnxGraphEdits.Inspect"/>).</summary>
/// <param name="InputName">The image input (float, rank 4, 3 channels).</param>
/// <param name="InputDims">Its dims as text (number or symbol).</param>
/// <param name="Outputs">Graph outputs: name and dims.</param>
/// <param name="Operators">Operator histogram, "domain:op" (default domain: "op") → count.</param>
/// <param name="ParameterCount">Elements in float/quantized initializers (weights).</param>
/// <param name="Opset">Default-domain opset version.</param>
internal sealed record OnnxImageModelInfo(
    string InputName,
    IReadOnlyList<string> InputDims,
    IReadOnlyList<(string Name, IReadOnlyList<string> Dims)> Outputs,
    IReadOnlyDictionary<string, int> Operators,
    long ParameterCount,
    int Opset);
