namespace MLNetTransfer.Onnx;

/// <summary>The range a float activation tensor took on calibration images: what its uint8 encoding must cover.</summary>
/// <param name="Min">Smallest value (the encoding always covers 0 as well).</param>
/// <param name="Max">Largest value.</param>
public readonly record struct ActivationRange(float Min, float Max);
