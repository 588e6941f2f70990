namespace MLNetTransfer.Onnx;

/// <summary>Small operations on a network's output vectors, shared by evaluation, prediction and import checks.</summary>
internal static class Scores
{
    /// <summary>The index of the largest value (the first one on ties), as ONNX ArgMax and torch.argmax pick it.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
