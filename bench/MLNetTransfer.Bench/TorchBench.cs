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

    private static double Forward(OnnxTorchModule module, int size, int iterations)
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

    private static double TrainStep(OnnxTorchModule module, int size, int iterations)
    {
        module.train();
        module.Freeze(0);
        var optimizer = torch.optim.SGD(module.parameters(), 1e-4, 0.9);
        var x = torch.randn(32, 3, size, size);
        var y = torch.randint(0, 1000, [32]);
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
