using Microsoft.ML;
using MLNetTransfer.Data;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using TorchSharp;

namespace MLNetTransfer.Tests.Training;

[NeedsAssets]
[Collection("heavy")]
public class TrainerRobustnessTests
{
    private static (ImagePixelStore Images, int[] Labels) SmallMnist(int perClass, int seed)
    {
        var images = Stratified.Sample(MnistIdx.Load(TestAssets.Mnist, train: false), m => m.Label.ToString(), perClass, seed);
        return (ImagePixelStore.FromPlanes([.. images.Select(m => m.Pixels)], 28, 28), [.. images.Select(m => m.Label)]);
    }

    private static readonly string[] Digits = [.. Enumerable.Range(0, 10).Select(d => d.ToString())];

    public sealed class BytesRow
    {
        public byte[] Image = [];
        public string Label = "";
    }

    public sealed class PathRow
    {
        public string Image = "";
        public string Label = "";
    }

    [Fact]
    public void Images_that_cannot_be_decoded_are_skipped_and_logged_for_bytes_and_for_paths_as_MLNet_does()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source == "TransferLearning") lock (log) log.Add(e.RawMessage); };
        var good = TestAssets.CifarSubset(TestAssets.Cifar10Train, 4).Where(i => i.Label is "cat" or "ship").ToList();
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("empty.jpg"), []);
        File.WriteAllText(dir.Combine("text.jpg"), "not an image");
        var options = new TransferLearningOptions { Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, Epochs = 1, ImageSize = 32, BatchSize = 4, ValidationFraction = 0 };

        var bytes = good.Select(i => new BytesRow { Image = File.ReadAllBytes(i.Path), Label = i.Label }).ToList();
        bytes.Insert(2, new BytesRow { Image = [], Label = "cat" });
        bytes.Insert(5, new BytesRow { Image = "<html>"u8.ToArray(), Label = "ship" });
        var bytesData = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(bytes)).Transform(ml.Data.LoadFromEnumerable(bytes));
        using (var model = ml.MulticlassClassification.Trainers.TransferLearning(options with { ImageColumnName = "Image" }).Fit(bytesData))
            Assert.NotEmpty(model.Run.Network.History); // it trained
        Assert.Contains(log, l => l.StartsWith("Row 2 of the training data, column 'Image': empty byte array; skipped", StringComparison.Ordinal));
        Assert.Contains(log, l => l.StartsWith("Row 5 of the training data, column 'Image': 6 bytes that are not a supported encoded image", StringComparison.Ordinal));
        Assert.Contains(log, l => l.StartsWith($"{good.Count} training and 0 validation images", StringComparison.Ordinal));

        log.Clear();
        var paths = good.Select(i => new PathRow { Image = i.Path, Label = i.Label }).ToList();
        paths.Insert(1, new PathRow { Image = dir.Combine("empty.jpg"), Label = "cat" });
        paths.Insert(3, new PathRow { Image = dir.Combine("text.jpg"), Label = "ship" });
        paths.Insert(4, new PathRow { Image = dir.Combine("missing.jpg"), Label = "ship" });
        var pathData = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(paths)).Transform(ml.Data.LoadFromEnumerable(paths));
        using (ml.MulticlassClassification.Trainers.TransferLearning(options with { ImageColumnName = "Image" }).Fit(pathData)) { }
        Assert.Equal(3, log.Count(l => l.EndsWith("; skipped.", StringComparison.Ordinal)));
        Assert.Contains(log, l => l.Contains("missing.jpg: file not found"));
        Assert.Contains(log, l => l.StartsWith($"{good.Count} training and 0 validation images", StringComparison.Ordinal));

        // Only one class keeps images: the error says so and counts the skipped ones.
        var oneClass = bytes.Where(r => r.Label == "cat" || r.Image.Length < 10).ToList();
        var oneClassData = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(oneClass)).Transform(ml.Data.LoadFromEnumerable(oneClass));
        var message = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.TransferLearning(options with { ImageColumnName = "Image" }).Fit(oneClassData)).Message;
        Assert.Contains("at least 2 classes", message);
        Assert.Contains("2 skipped", message);
    }

    private static TransferLearningOptions Options(string workspace) => new()
    {
        Strategy = TransferStrategy.Scratch, ImageSize = 28, BatchSize = 50, Epochs = 3, LearningRate = 2e-3, WorkspacePath = workspace,
        Optimizer = OptimizerKind.Adam, DropoutRate = 0.3, Augmentation = Augment.Flip,
    };

    [Fact]
    public void Interrupted_then_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one()
    {
        var (images, labels) = SmallMnist(20, 3);
        using var dir = new TempDir();
        using var reference = TrainedNetwork.Train(images, labels, null, null, Digits, Options(dir.Combine("a")));

        // Stop after the first epoch's checkpoint, as a kill would, then start again on the same workspace.
        using var cancel = new CancellationTokenSource();
        var interrupted = Options(dir.Combine("b")) with { MetricsCallback = m => { if (m.Epoch == 0) cancel.Cancel(); } };
        Assert.Throws<OperationCanceledException>(() => TrainedNetwork.Train(images, labels, null, null, Digits, interrupted, cancel.Token));
        Assert.True(File.Exists(dir.Combine("b", "latest")));
        int epochsRun = 0;
        var again = Options(dir.Combine("b")) with { MetricsCallback = _ => epochsRun++ };
        using var resumed = TrainedNetwork.Train(images, labels, null, null, Digits, again);
        Assert.Equal(2, epochsRun); // epochs 2 and 3 only: the first came from the checkpoint

        Assert.Equal(3, resumed.History.Count);
        var a = reference.Body.parameters().Concat(reference.Head.parameters()).ToList();
        var b = resumed.Body.parameters().Concat(resumed.Head.parameters()).ToList();
        for (int i = 0; i < a.Count; i++) Assert.True(a[i].allclose(b[i], 0, 1e-6), $"parameter {i} differs after resume");
        Assert.True(File.ReadAllLines(dir.Combine("b", "metrics.csv")).Length == 4); // header + 3 epochs
    }

    [Fact]
    public void A_saved_network_continues_training_from_its_weights()
    {
        var (images, labels) = SmallMnist(30, 5);
        using var dir = new TempDir();
        var first = Options(dir.Combine("w1")) with { Epochs = 2, Augmentation = Augment.None };
        using var network = TrainedNetwork.Train(images, labels, null, null, Digits, first);
        network.Save(dir.Combine("saved"), first);
        double Loss(TrainedNetwork n) => n.Predict(images).Select((p, i) => -Math.Log(Math.Max(p[labels[i]], 1e-9))).Average();
        double before = Loss(network);

        var more = Options(dir.Combine("w2")) with { Epochs = 3, Augmentation = Augment.None, ContinueFrom = dir.Combine("saved") };
        using var continued = TrainedNetwork.Train(images, labels, null, null, Digits, more);
        Assert.Equal(3, continued.History.Count);
        Assert.True(continued.History[0].TrainLoss < network.History[0].TrainLoss, "continued training must start from the trained weights, not from scratch");
        Assert.True(Loss(continued) < before, $"training loss {Loss(continued)} did not go below {before}");

        var wrongClasses = Options(dir.Combine("w3")) with { ContinueFrom = dir.Combine("saved") };
        Assert.Contains("predicts", Assert.Throws<ArgumentException>(() => TrainedNetwork.Train(images, labels, null, null, [.. Digits.Take(9), "x"], wrongClasses)).Message);
    }

    [Fact]
    public void Bottleneck_cache_is_a_memory_mapped_file_that_a_later_run_reuses()
    {
        var items = ImageFolder.Scan(TestAssets.Cifar10Test, new ImageFolderOptions { MaxPerClass = 4, ValidateImages = false }).Images;
        var images = ImagePixelStore.Decode([.. items.Select(i => i.Path)], 32, 32);
        var classes = items.Select(i => i.Label).Distinct().Order().ToList();
        int[] labels = [.. items.Select(i => classes.IndexOf(i.Label))];
        using var dir = new TempDir();
        TransferLearningOptions Head(string workspace) => new()
        {
            Assets = new(TestAssets.Root), Strategy = TransferStrategy.HeadOnly, ImageSize = 32, Epochs = 2, BatchSize = 16, WorkspacePath = workspace,
        };
        using (TrainedNetwork.Train(images, labels, null, null, classes, Head(dir.Combine("a")))) { }
        var cache = Directory.GetFiles(dir.Combine("a"), "bottleneck-train-*.f32").Single();
        Assert.Equal((5 + 3) * 8 + 40L * 1280 * sizeof(float), new FileInfo(cache).Length); // header + shape [1280,1,1] + 40 embeddings

        // A fresh workspace holding the same cache file: the next run reads it instead of recomputing.
        Directory.CreateDirectory(dir.Combine("b"));
        var copy = Path.Combine(dir.Combine("b"), Path.GetFileName(cache));
        File.Copy(cache, copy);
        var stamp = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(copy, stamp);
        using (TrainedNetwork.Train(images, labels, null, null, classes, Head(dir.Combine("b")))) { }
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(copy));

        // A corrupted header is not trusted: the file is rebuilt.
        using (var stream = File.OpenWrite(copy)) stream.Write(new byte[8]);
        Directory.CreateDirectory(dir.Combine("c"));
        File.Copy(copy, Path.Combine(dir.Combine("c"), Path.GetFileName(cache)));
        File.SetLastWriteTimeUtc(Path.Combine(dir.Combine("c"), Path.GetFileName(cache)), stamp);
        using (TrainedNetwork.Train(images, labels, null, null, classes, Head(dir.Combine("c")))) { }
        Assert.NotEqual(stamp, File.GetLastWriteTimeUtc(Path.Combine(dir.Combine("c"), Path.GetFileName(cache))));

        // One flipped bit in the payload, header intact and size right: the checksum catches it and the file is rebuilt.
        Directory.CreateDirectory(dir.Combine("d"));
        var damaged = Path.Combine(dir.Combine("d"), Path.GetFileName(cache));
        File.Copy(cache, damaged);
        using (var stream = File.Open(damaged, FileMode.Open)) { stream.Position = stream.Length - 3; int b = stream.ReadByte(); stream.Position--; stream.WriteByte((byte)(b ^ 1)); }
        File.SetLastWriteTimeUtc(damaged, stamp);
        using (TrainedNetwork.Train(images, labels, null, null, classes, Head(dir.Combine("d")))) { }
        Assert.NotEqual(stamp, File.GetLastWriteTimeUtc(damaged));
        Assert.Equal(File.ReadAllBytes(cache), File.ReadAllBytes(damaged)); // rebuilt to the same bytes
    }

    [Fact]
    public void Nan_loss_stops_with_a_message_and_keeps_the_best_weights()
    {
        var (images, labels) = SmallMnist(20, 4);
        using var dir = new TempDir();
        var options = Options(dir.Path) with
        {
            Augmentation = Augment.None, Epochs = 4, Optimizer = OptimizerKind.SgdMomentum,
            Schedule = new ExplodingSchedule(StepsBeforeExplosion: 2 * 4), // two clean epochs of 4 steps, then 1e12
        };
        using var network = TrainedNetwork.Train(images, labels, null, null, Digits, options);
        Assert.NotNull(network.StopReason);
        Assert.Contains("NaN", network.StopReason);
        Assert.Equal(3, network.History.Count); // two clean epochs, the third diverged
        var probabilities = network.Predict(images);
        Assert.All(probabilities, p => Assert.DoesNotContain(p, float.IsNaN));
    }

    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        var ml = new MLContext(1);
        var items = ImageFolder.Scan(TestAssets.Cifar10Test, new ImageFolderOptions { MaxPerClass = 3, ValidateImages = false }).Images;
        var view = ml.Data.LoadImages(items);
        var estimator = ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions { Assets = new(TestAssets.Root) });
        var notKey = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(view));
        Assert.Contains("MapValueToKey", notKey.Message);

        var oneClass = ml.Data.LoadImages(items.Where(i => i.Label == "cat"));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(oneClass).Transform(oneClass);
        Assert.Contains("at least 2 classes", Assert.Throws<ArgumentException>(() => estimator.Fit(keyed)).Message);

        var two = ml.Data.LoadImages(items.Where(i => i.Label is "cat" or "dog").Take(4));
        var keyedTwo = ml.Transforms.Conversion.MapValueToKey("Label").Fit(two).Transform(two);
        var noValidation = ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions
        {
            Assets = new(TestAssets.Root), EarlyStopping = new EarlyStopping(), ValidationFraction = 0,
        });
        Assert.Contains("validation split is empty", Assert.Throws<ArgumentException>(() => noValidation.Fit(keyedTwo)).Message);

        // Options are checked when the estimator is created, and the message names the option.
        Assert.Contains("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions { BatchSize = 0 })).Message);
        Assert.Contains("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions { Epochs = 0 })).Message);
        Assert.Contains("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions { LearningRate = 0 })).Message);
        Assert.Contains("ValidationFraction", Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TransferLearning(new TransferLearningOptions { ValidationFraction = 1 })).Message);
    }

    private sealed record ExplodingSchedule(int StepsBeforeExplosion) : LearningRateSchedule
    {
        public override double Rate(double baseRate, long step, long totalSteps, int stepsPerEpoch) =>
            step < StepsBeforeExplosion ? baseRate : 1e12;
    }
}
