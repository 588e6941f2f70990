namespace MLNetTransfer.Torch;

/// <summary>How an imported network compares with ONNX Runtime on the same inputs (<see cref="OnnxTorchImporter.Verify(Onnx.OnnxModel, OnnxTorchModule, float[], int, int, int)"/>).</summary>
/// <param name="Images">Images compared.</param>
/// <param name="MaxAbsDiff">Largest |TorchSharp − ORT| over all outputs (ORT runs the fp32 twin of a quantized model: the same math).</param>
/// <param name="MaxAbsReference">Largest |ORT output|, to read <paramref name="MaxAbsDiff"/> as a relative error.</param>
/// <param name="Top1Agreeing">Images whose arg-max agrees with the original model's in ORT (the int8 one when quantized).</param>
/// <param name="Parameters">Trainable parameters of the import.</param>
public sealed record ImportCheck(int Images, float MaxAbsDiff, float MaxAbsReference, int Top1Agreeing, long Parameters)
{
    /// <summary>Fraction of images whose top-1 class agrees with the original model's.</summary>
    public double Top1Agreement => Images == 0 ? 0 : (double)Top1Agreeing / Images;
}
