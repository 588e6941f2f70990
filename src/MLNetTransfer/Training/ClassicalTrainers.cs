using Microsoft.ML;
using Microsoft.ML.Trainers;

namespace MLNetTransfer.Training;

/// <summary>One ML.NET multiclass trainer offered after a frozen featurizer.</summary>
/// <param name="Name">CLI name (<c>--trainer</c>).</param>
/// <param name="Description">What it is and when to pick it.</param>
/// <param name="Create">Builds the estimator on (feature column, key label column).</param>
public sealed record ClassicalTrainerInfo(string Name, string Description,
    Func<MLContext, string, string, IEstimator<ITransformer>> Create);

/// <summary>
/// The classical trainers for the "intermediate output" strategy, as data. Settings are the ones measured to work on
/// 1280-d MobileNetV2 embeddings (ML.NET's LinearSvm default of one iteration scores 24% there; ten give 42%).
/// </summary>
public static class ClassicalTrainers
{
    /// <summary>
    /// Multinomial logistic regression (L-BFGS), the default: best accuracy per second on embeddings. L1 1 and L2 1e-2,
    /// measured best from a few thousand rows up (all of CIFAR-10: 75.90% against 73.46% with L1 0). ML.NET sums the
    /// loss over rows, so the same L1 weighs far more on small data, where it hurts (10 images per class: 40.7% against
    /// 50.6%): <see cref="LbfgsFor(long)"/> picks by size, and <see cref="LinearProbe"/> uses it.
    /// </summary>
    public static ClassicalTrainerInfo Lbfgs { get; } = LbfgsWithL1("lbfgs", 1);

    /// <summary>The L-BFGS entry without L1, for fewer than <see cref="SmallDataRows"/> training rows.</summary>
    public static ClassicalTrainerInfo LbfgsSmallData { get; } = LbfgsWithL1("lbfgs", 0);

    /// <summary>Below this many training rows L1 costs accuracy (crossover measured between 1,000 and 3,000 rows).</summary>
    public const long SmallDataRows = 2_000;

    /// <summary>The L-BFGS entry for a training set of <paramref name="rows"/> rows (docs/benchmarks.md, "L1 against size").</summary>
    public static ClassicalTrainerInfo LbfgsFor(long rows) => rows < SmallDataRows ? LbfgsSmallData : Lbfgs;

    /// <summary>
    /// As <see cref="LbfgsFor(long)"/> with the L2 strength a backbone's features need (<see cref="Backbones.BackboneInfo.ProbeL2"/>).
    /// </summary>
    public static ClassicalTrainerInfo LbfgsFor(long rows, float l2) =>
        l2 == DefaultL2 ? LbfgsFor(rows) : LbfgsWithL1("lbfgs", rows < SmallDataRows ? 0 : 1, l2);

    /// <summary>The L-BFGS entries' L2 strength: measured best on MobileNetV2's 1,280-d embeddings.</summary>
    public const float DefaultL2 = Backbones.BackboneInfo.DefaultProbeL2;

    private static ClassicalTrainerInfo LbfgsWithL1(string name, float l1, float l2 = DefaultL2) => new(name, $"LbfgsMaximumEntropy (multinomial logistic regression, L1 {l1}, L2 {l2:G3})",
        (ml, f, l) => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
        {
            FeatureColumnName = f, LabelColumnName = l, L2Regularization = l2, L1Regularization = l1, OptimizationTolerance = 1e-6f,
            HistorySize = 50, MaximumNumberOfIterations = 500,
        }));

    /// <summary>SDCA maximum entropy.</summary>
    public static ClassicalTrainerInfo Sdca { get; } = new("sdca", "SdcaMaximumEntropy (stochastic dual coordinate ascent)",
        (ml, f, l) => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(labelColumnName: l, featureColumnName: f, maximumNumberOfIterations: 30));

    /// <summary>One-versus-all linear SVMs (ten iterations each).</summary>
    public static ClassicalTrainerInfo Svm { get; } = new("svm", "OneVersusAll over LinearSvm (10 iterations)",
        (ml, f, l) => ml.MulticlassClassification.Trainers.OneVersusAll(
            ml.BinaryClassification.Trainers.LinearSvm(labelColumnName: l, featureColumnName: f, numberOfIterations: 10),
            labelColumnName: l));

    /// <summary>LightGBM gradient-boosted trees.</summary>
    public static ClassicalTrainerInfo LightGbm { get; } = new("lightgbm", "LightGBM (gradient-boosted trees)",
        (ml, f, l) => ml.MulticlassClassification.Trainers.LightGbm(labelColumnName: l, featureColumnName: f, numberOfIterations: 200));

    /// <summary>All entries.</summary>
    public static IReadOnlyList<ClassicalTrainerInfo> All { get; } = [Lbfgs, Sdca, Svm, LightGbm];

    /// <summary>Finds an entry by name (case-insensitive); the error lists the known names.</summary>
    public static ClassicalTrainerInfo Get(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown trainer '{name}'. Known: {string.Join(", ", All.Select(t => t.Name))}.", nameof(name));
}
