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
    public static void Run(string assets, bool quick, bool channelsLast = true)
    {
        var path = new AssetResolver(assets).Resolve(BackboneCatalog.MobileNetV2Int8.Asset);
        var watch = Stopwatch.StartNew();
        using var module = OnnxTorchImporter.Import(OnnxModel.Load(path));
        module.ChannelsLast = channelsLast; // --contiguous: NCHW strides throughout
        using var heap = NativeHeap.RetainFreedMemory(); // as the fine-tuning loop does
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

    /// <summary>Which of the executor's speed choices a run keeps; each flag off is the executor before 2026-12-02 in that respect.</summary>
    /// <param name="InPlace">ReLU and Add overwrite fresh inputs (off: --out-of-place).</param>
    /// <param name="ChannelsLast">NHWC strides (off: --contiguous).</param>
    /// <param name="KeepHeap">glibc keeps freed blocks, as the fine-tuning loop does (off: --trim-heap).</param>
    /// <param name="Split">Print forward / backward / optimizer time per step (--split).</param>
    public sealed record ExecutorFlags(bool InPlace = true, bool ChannelsLast = true, bool KeepHeap = true, bool Split = false);

    /// <summary>
    /// The package's ResNet-18 as the trainer imports it (BatchNorm layers kept, cut at the 512-d embedding) with a
    /// 10-class linear head: training step (all layers, SGD) and eval forward img/s, batch 32, at each size.
    /// </summary>
    public static void RunResNet18(int[] sizes, int iterations, ExecutorFlags flags)
    {
        using var body = BackboneImport.Body(BackboneCatalog.ResNet18, AssetResolver.Default);
        body.InPlace = flags.InPlace;
        body.ChannelsLast = flags.ChannelsLast;
        using var heap = flags.KeepHeap ? NativeHeap.RetainFreedMemory() : null;
        using var head = nn.Linear(512, 10);
        var network = nn.Sequential(("body", body), ("flatten", nn.Flatten()), ("head", head));
        foreach (int size in sizes)
        {
            double train = TrainStep(network, size, iterations, body.Freeze, flags.Split);
            double forward = Forward(network, size, iterations);
            Console.WriteLine($"| TorchSharp imported resnet18{(flags.InPlace ? "" : " (out of place)")}{(flags.ChannelsLast ? "" : " (NCHW)")}{(flags.KeepHeap ? "" : " (glibc trims)")} | {size} | 32 | train step {train:F1} | forward {forward:F1} |");
        }
    }

    /// <summary>
    /// torchvision's resnet18 (TorchVision for .NET: the same modules as PyTorch's, random weights, 10 classes) on this
    /// libtorch, timed like <see cref="RunResNet18"/>: separates libtorch's speed from the ONNX executor's.
    /// </summary>
    public static void RunTorchVisionResNet18(int[] sizes, int iterations, bool split)
    {
        using var network = torchvision.models.resnet18(num_classes: 10);
        foreach (int size in sizes)
        {
            double train = TrainStep(network, size, iterations, _ => { }, split);
            double forward = Forward(network, size, iterations);
            Console.WriteLine($"| TorchSharp TorchVision resnet18 [2,2,2,2] (NCHW) | {size} | 32 | train step {train:F1} | forward {forward:F1} |");
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

    private static double TrainStep(nn.Module<Tensor, Tensor> module, int size, int iterations, Action<int> freeze, bool split = false)
    {
        module.train();
        freeze(0);
        var optimizer = torch.optim.SGD(module.parameters(), 1e-4, 0.9);
        var x = torch.randn(32, 3, size, size);
        var y = torch.randint(0, 10, [32]);
        var parts = new double[3]; // forward, backward, optimizer step (seconds), for --split
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            long t0 = Stopwatch.GetTimestamp();
            var loss = nn.functional.cross_entropy(module.forward(x), y);
            long t1 = Stopwatch.GetTimestamp();
            optimizer.zero_grad();
            loss.backward();
            long t2 = Stopwatch.GetTimestamp();
            optimizer.step();
            long t3 = Stopwatch.GetTimestamp();
            parts[0] += Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            parts[1] += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            parts[2] += Stopwatch.GetElapsedTime(t2, t3).TotalSeconds;
        }
        Step(); // warm-up
        Array.Clear(parts);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) Step();
        if (split)
            Console.WriteLine($"  per step at {size} px: forward {parts[0] / iterations * 1000:F0} ms, backward {parts[1] / iterations * 1000:F0} ms, optimizer {parts[2] / iterations * 1000:F0} ms");
        return 32.0 * iterations / watch.Elapsed.TotalSeconds;
    }
}
