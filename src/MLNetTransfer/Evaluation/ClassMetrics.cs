namespace MLNetTransfer.Evaluation;

/// <summary>Precision, recall, F1 and support of one class.</summary>
/// <param name="Precision">Of the images predicted as this class, the fraction that are.</param>
/// <param name="Recall">Of the images of this class, the fraction predicted as it.</param>
/// <param name="F1">Harmonic mean of precision and recall (0 when both are 0).</param>
/// <param name="Support">Number of images of this class in the evaluated set.</param>
public sealed record ClassMetrics(double Precision, double Recall, double F1, int Support);
