using System.Reflection;
using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;

namespace MLNetTransfer.Tests.Training;

/// <summary>A workspace resumes only the same run: any option that changes training, the data or the starting weights differ → fresh start.</summary>
public class TrainingFingerprintTests
{
    // A value different from the default for each option type; a new option of another type fails the first test
    // until it gets a line here, so no option can be left out of the fingerprint by accident.
    private static object ChangedValue(PropertyInfo p, object? current) => (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) switch
    {
        var t when t == typeof(int) => current is int i ? i + 1 : 123,
        var t when t == typeof(double) => current is double d ? d * 2 + 0.125 : 0.5,
        var t when t == typeof(bool) => !(bool)current!,
        var t when t == typeof(string) => (string?)current + "-other",
        var t when t.IsEnum => Enum.GetValues(t).Cast<object>().First(v => !v.Equals(current)),
        var t when t == typeof(BackboneInfo) => BackboneCatalog.MobileNetV2Dequantized,
        var t when t == typeof(LearningRateSchedule) => LearningRateSchedule.OneCycle(),
        var t when t == typeof(EarlyStopping) => new EarlyStopping(patience: 7),
        var t when t == typeof(IDataView) => new MLContext().Data.LoadFromEnumerable(new[] { new ImagePathRow { ImagePath = "a.png", Label = "x" } }),
        var t => throw new InvalidOperationException($"Option {p.Name} has type {t.Name}: add a changed value for it to this test."),
    };

    public static TheoryData<string> TrainingOptions() => [.. TrainingFingerprint.Properties.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(TrainingOptions))]
    public void Changing_any_training_option_changes_the_fingerprint(string name)
    {
        var property = typeof(TransferLearningOptions).GetProperty(name)!;
        var original = new TransferLearningOptions { EarlyStopping = new EarlyStopping(3) };
        var changed = original with { };
        property.SetValue(changed, ChangedValue(property, property.GetValue(original)));
        var a = TrainingFingerprint.Of(original, "data", "weights");
        var b = TrainingFingerprint.Of(changed, "data", "weights");
        var differences = TrainingFingerprint.Differences(a, b);
        Assert.NotNull(differences);
        Assert.StartsWith(name + ":", differences);
        Assert.Null(TrainingFingerprint.Differences(a, TrainingFingerprint.Of(original with { }, "data", "weights")));
    }

    [Fact]
    public void The_options_an_older_fingerprint_forgot_are_part_of_the_fingerprint_and_only_names_callbacks_and_folders_are_not()
    {
        var names = TrainingFingerprint.Properties.Select(p => p.Name).ToHashSet();
        foreach (var option in new[] { "UnfrozenBlocks", "WarmupEpochs", "Optimizer", "WeightDecay", "L1", "DropoutRate", "Schedule",
                     "BackboneLrFactor", "LayerwiseLrFactor", "EarlyStopping", "Strategy", "Epochs", "ValidationFraction", "ValidationSet", "ContinueFrom" })
            Assert.Contains(option, names);
        var left = typeof(TransferLearningOptions).GetProperties().Select(p => p.Name).Where(n => !names.Contains(n)).Order().ToArray();
        Assert.Equal(["Assets", "ImageColumnName", "LabelColumnName", "Log", "MetricsCallback", "PredictedLabelColumnName", "Progress",
            "ResumeCallback", "ScoreColumnName", "WorkspacePath"], left);
        Assert.Contains("data", TrainingFingerprint.Differences(TrainingFingerprint.Of(new(), "100 images", "w"), TrainingFingerprint.Of(new(), "101 images", "w")));
        Assert.Contains("starting weights", TrainingFingerprint.Differences(TrainingFingerprint.Of(new(), "d", "w1"), TrainingFingerprint.Of(new(), "d", "w2")));
    }
}

/// <summary>The fresh start, end to end on a small scratch network.</summary>
[NeedsAssets]
[Collection("heavy")]
public class WorkspaceFreshStartTests
{
    private static readonly string[] Digits = [.. Enumerable.Range(0, 10).Select(d => d.ToString())];

    [Fact]
    public void A_workspace_holding_a_run_with_other_settings_starts_fresh_and_says_which_setting_differs()
    {
        var images = Stratified.Sample(MnistIdx.Load(TestAssets.Mnist, train: false), m => m.Label.ToString(), 10, 2);
        var store = ImagePixelStore.FromPlanes([.. images.Select(m => m.Pixels)], 28, 28);
        int[] labels = [.. images.Select(m => m.Label)];
        using var dir = new TempDir();
        TransferLearningOptions Options() => new()
        {
            Strategy = TransferStrategy.Scratch, ImageSize = 28, BatchSize = 25, Epochs = 2, LearningRate = 2e-3, WorkspacePath = dir.Path,
        };

        using (TrainedNetwork.Train(store, labels, null, null, Digits, Options())) { }
        Assert.True(File.Exists(dir.Combine("latest")));

        // Same settings: nothing left to train, the run resumes after its last epoch.
        var resumedAt = -1;
        var same = Options() with { ResumeCallback = done => resumedAt = done };
        using (TrainedNetwork.Train(store, labels, null, null, Digits, same)) { }
        Assert.Equal(2, resumedAt);

        // One setting the old fingerprint ignored: no resume, both epochs trained again, and the log names the change.
        var messages = new List<string>();
        int epochs = 0;
        var changed = Options() with
        {
            WeightDecay = 1e-2,
            ResumeCallback = _ => Assert.Fail("a run with another weight decay must not resume"),
            MetricsCallback = _ => epochs++,
            Log = messages.Add,
        };
        using var fresh = TrainedNetwork.Train(store, labels, null, null, Digits, changed);
        Assert.Equal(2, epochs);
        Assert.Equal(2, fresh.History.Count);
        var message = Assert.Single(messages);
        Assert.Contains("WeightDecay: 0.0001 → 0.01", message);
        Assert.Contains("starting fresh", message);
        Assert.Equal(3, File.ReadAllLines(dir.Combine("metrics.csv")).Length); // header + the new run's 2 epochs
    }
}
