using System.Diagnostics;
using MLNetTransfer.Backbones;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Bench;

/// <summary>The imported MobileNetV2 (fp32 twin of the int8 model) in TorchSharp: import time, forward and training img/s.</summary>
internal static class TorchBench
{
    public static void Run(string assets, bool quick)
    {
        var path = new AssetResolver(assets).Resolve(BackboneCatalog.MobileNetV2Int8.Asset);
        var watch = Stopwatch.StartNew();
        using var module = OnnxTorchImporter.Import(OnnxModel.Load(path));
        Console.WriteLine($"import (parse + fp32 rewrite + module): {watch.ElapsedMilliseconds} ms; threads {torch.get_num_threads()}");
        Console.WriteLine("| pass | image size | batch | img/s |");
        Console.WriteLine("|---|---|---|---|");
        foreach (int size in new[] { 96, 224 })
        {
            int iterations = quick ? 3 : (size == 96 ? 20 : 6);
            Console.WriteLine($"| forward (eval, no_grad) | {size} | 32 | {Forward(module, size, iterations):F1} |");
            Console.WriteLine($"| training step (all layers, SGD) | {size} | 32 | {TrainStep(module, size, iterations):F1} |");
        }
    }

    /// <summary>
    /// The package's ResNet-18 as the trainer imports it (BatchNorm layers kept, cut at the 512-d embedding) with a
    /// 10-class linear head: training step (all layers, SGD) and eval forward img/s, batch 32, at each size.
    /// </summary>
    public static void RunResNet18(int[] sizes, bool quick)
    {
        using var body = BackboneImport.Body(BackboneCatalog.ResNet18, AssetResolver.Default);
        using var head = nn.Linear(512, 10);
        var network = nn.Sequential(("body", body), ("flatten", nn.Flatten()), ("head", head));
        int iterations = quick ? 3 : 5;
        foreach (int size in sizes)
        {
            double train = TrainStep(network, size, iterations, body.Freeze);
            double forward = Forward(network, size, iterations);
            Console.WriteLine($"| TorchSharp imported resnet18 | {size} | 32 | train step {train:F1} | forward {forward:F1} |");
        }
    }

    private static double Forward(nn.Module<Tensor, Tensor> module, int size, int iterations)
    {
        module.eval();
        using var _ = torch.no_grad();
        var x = torch.randn(32, 3, size, size);
        using (torch.NewDisposeScope()) module.forward(x); // warm-up
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++)
        {
            using var scope = torch.NewDisposeScope();
            module.forward(x);
        }
        return 32.0 * iterations / watch.Elapsed.TotalSeconds;
    }

    private static double TrainStep(OnnxTorchModule module, int size, int iterations) => TrainStep(module, size, iterations, module.Freeze);

    private static double TrainStep(nn.Module<Tensor, Tensor> module, int size, int iterations, Action<int> freeze)
    {
        module.train();
        freeze(0);
        var optimizer = torch.optim.SGD(module.parameters(), 1e-4, 0.9);
        var x = torch.randn(32, 3, size, size);
        var y = torch.randint(0, 10, [32]);
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            var loss = nn.functional.cross_entropy(module.forward(x), y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        Step(); // warm-up
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) Step();
        return 32.0 * iterations / watch.Elapsed.TotalSeconds;
    }
}
