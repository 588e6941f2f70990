using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Tests.Cli;
using MLNetTransfer.Tests.Onnx;
using MLNetTransfer.Torch;
using MLNetTransfer.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Training;

/// <summary>
/// Every strategy on the package's ResNet-18, kept small (few CIFAR images, 64 px for fine-tuning): ResNet-18 at 224 px
/// on two shared cores is slow, and these tests check that each path works and feeds the network correctly, not accuracy.
/// </summary>
[Collection("heavy")]
public class ResNet18StrategiesTests(ITestOutputHelper output)
{
    private static readonly BackboneInfo ResNet18 = BackboneCatalog.ResNet18;

    [NeedsAssets]
    [Theory]
    [InlineData(224)]
    [InlineData(64)]
    public void TorchSharp_training_input_and_the_featurizer_graph_agree(int size)
    {
        var files = Directory.GetDirectories(TestAssets.Cifar10Test).Order().Take(2).Select(d => Directory.GetFiles(d).Order().First()).ToList();
        var store = ImagePixelStore.Decode(files, 32, 32);
        var assets = new AssetResolver();
        using var body = BackboneImport.Body(ResNet18, assets);
        body.eval();
        Assert.Equal(11, body.Blocks.Count); // stem, nine residual units, head: the catalog's boundaries
        Assert.Equal("ReLU393_Output_0", body.Blocks[^2].Output);
        float[] torchFeatures;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
            torchFeatures = body.forward(new BatchTransforms(size, ResNet18.Normalization(assets)).ToInput(store.Batch([0, 1]))).flatten(1).data<float>().ToArray();

        var bytes = store.Batch([0, 1]).data<byte>().ToArray();
        var pixels = bytes.Select(b => b / 255f).ToArray();
        var graph = FeaturizerGraph.Build(ResNet18, assets, size);
        var onnxFeatures = OrtRunner.Run(graph, FeaturizerGraph.InputName, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, [2, 3, 32, 32]), "embedding")["embedding"].Data;
        double diff = torchFeatures.Zip(onnxFeatures, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{size} px: TorchSharp (BatchTransforms + imported body) vs ORT featurizer graph, max abs diff {diff:E2}, largest {onnxFeatures.Max():F2}");
        Assert.Equal(2 * 512, onnxFeatures.Length);
        Assert.True(diff < 2e-3, $"max abs diff {diff}");
    }

    [Fact]
    public void Multi_block_features_end_with_the_single_cut_embedding()
    {
        var assets = new AssetResolver();
        var random = new Random(5);
        var pixels = new float[2 * 3 * 32 * 32];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)random.NextDouble();
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, [2, 3, 32, 32]);
        var single = OrtRunner.Run(FeaturizerGraph.Build(ResNet18, assets, 64), FeaturizerGraph.InputName, input, "embedding")["embedding"].Data;
        var multi = OrtRunner.Run(FeaturizerGraph.Build(BackboneCatalog.ResNet18MultiBlock, assets, 64), FeaturizerGraph.InputName, input, "embedding")["embedding"];
        Assert.Equal([2, 1408], multi.Shape);
        for (int n = 0; n < 2; n++)
            for (int d = 0; d < 512; d++)
                Assert.Equal(single[n * 512 + d], multi.Data[n * 1408 + 896 + d], 4);
        Assert.True(multi.Data.Take(896).Any(v => v > 0)); // the pooled units are real activations (ReLU outputs, not all zero)
    }

    [NeedsAssets]
    [Fact]
    public void Linear_probe_with_each_classical_trainer()
    {
        using var dir = new TempDir();
        var ml = new MLContext(seed: 1);
        var train = TestAssets.CifarSubset(TestAssets.Cifar10Train, 8);
        var test = TestAssets.CifarSubset(TestAssets.Cifar10Test, 4);
        Assert.Equal(128, ResNet18.NetworkSizeFor(100)); // CNTK's one-sided padding needs multiples of 32: 100 runs at 128
        Assert.Equal(32, ResNet18.NetworkSizeFor(16));   // below the stride: upscaled to 32, not refused
        foreach (var trainer in new[] { ClassicalTrainers.Lbfgs, ClassicalTrainers.Sdca, ClassicalTrainers.Svm, ClassicalTrainers.LightGbm })
        {
            // One embedding cache for the four: the images are featurized once.
            var model = LinearProbe.Train(ml, train, new LinearProbeOptions { Backbone = ResNet18, Trainer = trainer, CacheFolder = dir.Path, ImageSize = 100 });
            var report = ModelEvaluation.Evaluate(ml, model, test);
            output.WriteLine($"{trainer.Name}: accuracy {report.Accuracy:F3} on {report.Count} images (80 train)");
            Assert.Equal(40, report.Count);
            Assert.Equal(10, report.PerClass.Count);
            if (trainer != ClassicalTrainers.LightGbm) // 80 rows are too few for boosted trees to beat chance reliably
                Assert.True(report.Accuracy > 0.25, $"{trainer.Name} accuracy {report.Accuracy} (chance 0.10)");
        }
    }

    [NeedsAssets]
    [Fact]
    public void Head_partial_and_full_fine_tuning_then_grad_cam_from_the_cli()
    {
        using var dir = new TempDir();
        foreach (var (strategy, epochs) in new[] { ("head", "1"), ("partial", "3"), ("full", "1") }) // partial: 2 warm-up epochs, then blocks
        {
            var outDir = dir.Combine(strategy);
            var run = CliProcess.Run("train", "--train", TestAssets.Cifar10Train, "--test", TestAssets.Cifar10Test, "--max-per-class", "4",
                "--backbone", "resnet18", "--strategy", strategy, "--epochs", epochs, "--batch-size", "20", "--image-size", "64", "--out", outDir, "--quiet");
            output.WriteLine($"{strategy}: {run.Stdout.Trim()} {run.Stderr.Trim()}");
            Assert.Equal(0, run.ExitCode);
            var metrics = ClassificationReport.Load(Path.Combine(outDir, "metrics.json"));
            Assert.Equal(40, metrics.Count);
            Assert.True(File.Exists(Path.Combine(outDir, "model.onnx")));
            if (strategy == "partial") Assert.Contains("finetune", File.ReadAllText(Path.Combine(outDir, "metrics.csv")));
            // The exported model carries the BGR reorder and the mean image: it must not look like an RGB one.
            var exported = OnnxModel.Load(Path.Combine(outDir, "model.onnx"));
            Assert.Contains(exported.Graph.Node, n => n.OpType == "Gather" && n.Name!.EndsWith("_channel_order", StringComparison.Ordinal));
            Assert.Contains(exported.Graph.Initializer, t => t.Name!.EndsWith("_shift", StringComparison.Ordinal) && t.Dims.SequenceEqual([1L, 3, 64, 64]));
        }
        var ship = Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "ship")).Order().First();
        var explain = CliProcess.Run("explain", "--model", Path.Combine(dir.Combine("partial"), "model.zip"), ship, "--class", "ship", "--out", dir.Combine("heat.png"));
        output.WriteLine(explain.Stdout + explain.Stderr);
        Assert.Equal(0, explain.ExitCode);
        using var heat = SkiaSharp.SKBitmap.Decode(dir.Combine("heat.png"));
        Assert.True(heat.Width >= 32);
    }

    [NeedsAssets]
    [Fact]
    public void Task_a_to_b_keeps_the_shared_layers_and_the_bgr_normalization()
    {
        var animals = new[] { "cat", "dog", "deer", "horse" };
        var vehicles = new[] { "ship", "truck" };
        var a = TestAssets.CifarSubset(TestAssets.Cifar10Train, 6).Where(i => animals.Contains(i.Label)).ToList();
        var b = TestAssets.CifarSubset(TestAssets.Cifar10Train, 6).Where(i => vehicles.Contains(i.Label)).ToList();
        var options = new TransferLearningOptions { Backbone = ResNet18, Strategy = TransferStrategy.PartialRetrain, UnfrozenBlocks = 2, WarmupEpochs = 1, Epochs = 2, ImageSize = 32, BatchSize = 12 };
        using var taskA = TrainedNetwork.Train(ImagePixelStore.Decode([.. a.Select(i => i.Path)], 32, 32), [.. a.Select(i => Array.IndexOf(animals, i.Label))],
            null, null, animals, options);
        Assert.Equal(ChannelOrder.Bgr, taskA.Normalization.ChannelOrder);
        var before = taskA.Body.parameters().Select(p => p.clone()).ToList();
        using var taskB = TrainedNetwork.Transfer(taskA, ImagePixelStore.Decode([.. b.Select(i => i.Path)], 32, 32),
            [.. b.Select(i => Array.IndexOf(vehicles, i.Label))], null, null, vehicles, new TransferLearningOptions { Backbone = ResNet18, Strategy = TransferStrategy.HeadOnly, Epochs = 3, ImageSize = 32, BatchSize = 12 });
        Assert.Equal(taskA.Normalization, taskB.Normalization);
        var after = taskB.Body.parameters().ToList();
        for (int i = 0; i < before.Count; i++) Assert.True(after[i].allclose(before[i], 0, 0), $"shared parameter {i} changed");
        var p = taskB.Predict(ImagePixelStore.Decode([.. b.Select(i => i.Path)], 32, 32));
        Assert.All(p, row => Assert.Equal(1.0, row.Sum(), 3));
    }

    [NeedsAssets]
    [Fact]
    public void Similarity_and_active_learning_from_the_cli()
    {
        using var dir = new TempDir();
        var similar = CliProcess.Run("similar", "--images", TestAssets.Cifar10Test, "--backbone", "resnet18", "--max-per-class", "3", "--k", "2", "--out", dir.Combine("sim"));
        output.WriteLine(similar.Stdout + similar.Stderr);
        Assert.Equal(0, similar.ExitCode);
        Assert.Equal(1 + 30 * 2, File.ReadAllLines(dir.Combine("sim", "neighbours.csv")).Length);
        var active = CliProcess.Run("active-learn", "--train", TestAssets.Cifar10Train, "--test", TestAssets.Cifar10Test, "--backbone", "resnet18",
            "--max-per-class", "6", "--rounds", "2", "--query", "10", "--initial-per-class", "1", "--out", dir.Combine("al"));
        output.WriteLine(active.Stdout + active.Stderr);
        Assert.Equal(0, active.ExitCode);
        var rows = File.ReadAllLines(dir.Combine("al", "rounds.csv"));
        Assert.Equal(["0,10", "1,20", "2,30"], rows.Skip(1).Select(r => string.Join(",", r.Split(',').Take(2))));
    }
}
