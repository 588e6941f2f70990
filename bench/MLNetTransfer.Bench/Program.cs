using MLNetTransfer.Bench;

// Benchmarks: long measurements that do not belong in tests. Each prints a markdown table row set to stdout.
// Usage: dotnet run -c Release --project bench/MLNetTransfer.Bench -- <featurize|rss|cifar-full|torch|soak|first-run|...> [--quick]
var what = args.FirstOrDefault() ?? "featurize";
bool quick = args.Contains("--quick");
var assets = Environment.GetEnvironmentVariable("MLNETTRANSFER_ASSETS")
    ?? throw new InvalidOperationException("Set MLNETTRANSFER_ASSETS to the assets folder.");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; date {DateTime.UtcNow:yyyy-MM-dd}");
switch (what)
{
    case "featurize": FeaturizationBench.Run(assets, quick ? 500 : 2000); break;
    case "rss": FeaturizationBench.PeakRss(assets, quick ? 5000 : 60000); break;
    case "cifar-full": CifarFullBench.Run(assets, quick); break;
    case "torch": TorchBench.Run(assets, quick, !args.Contains("--contiguous")); break;
    case "active": ActiveLearningBench.Run(assets, quick); break;
    case "probe-variants": ProbeVariantsBench.Run(assets, quick); break;
    case "channels": ChannelOrderBench.Run(assets, quick); break;
    case "first-run": FirstRunBench.Run(assets, quick); break;
    case "probe-settings": ProbeVariantsBench.RunTrainerSettings(assets); break;
    case "probe-l1": ProbeVariantsBench.RunL1Sweep(assets); break;
    case "probe-l1-sizes": ProbeVariantsBench.RunL1BySize(assets); break;
    case "soak": SoakBench.Run(assets, TimeSpan.FromMinutes(quick ? 1 : 10)); break;
    case "resnet18-featurize": ResNet18Bench.Featurize(assets, quick); break;
    case "int8-threads": Int8ThreadsProbe.Run(assets, quick ? 2 : 4); break;
    case "int8-configs": Int8ThreadsProbe.Configs(assets, quick ? 2 : 4, args.Contains("--mobilenet") ? MLNetTransfer.Backbones.BackboneCatalog.MobileNetV2Int8 : MLNetTransfer.Backbones.BackboneCatalog.ResNet18Int8); break;
    case "resnet18-torch" when args.Contains("--torchvision"): TorchBench.RunTorchVisionResNet18(SizeArgs(), IterationsArg(), args.Contains("--split")); break;
    case "resnet18-torch":
        TorchBench.RunResNet18(SizeArgs(), quick ? 3 : IterationsArg(), new TorchBench.ExecutorFlags(InPlace: !args.Contains("--out-of-place"),
            ChannelsLast: !args.Contains("--contiguous"), KeepHeap: !args.Contains("--trim-heap"), Split: args.Contains("--split"))); break;
    case "resnet18-probe-l2": ResNet18Bench.ProbeRegularization(assets, args.Contains("--multiblock"), args.Contains("--flip")); break;
    case "resnet18-cifar-full": ProbeVariantsBench.RunResNet18Full(assets, quick, args.Contains("--int8"), args.Contains("--flip")); break;
    case "two-backbones-cifar-full": ProbeVariantsBench.RunTwoBackbones(assets, quick); break;
    case "resnet18-probe": ResNet18Bench.Probe(assets, quick, args.Contains("--flip")); break;
    case "resnet18-probe-blocks": ResNet18Bench.ProbeBlocks(assets); break;
    case "resnet18-probe-transforms": ResNet18Bench.ProbeTransforms(assets, args.Contains("--multiblock"), args.Contains("--flip"), args.Contains("--int8")); break;
    case "resnet18-int8": Int8Bench.Run(assets, quick, args.Contains("--print-ranges")); break;
    case "decode-cost": Int8Bench.DecodeCost(assets); break;
    case "vision-defaults": VisionDefaultsBench.Run(assets, quick); break;
    default: Console.Error.WriteLine($"unknown benchmark '{what}'"); return 2;
}
return 0;

// resnet18-torch: the numbers after the command are image sizes (default 96); `--iters N` the timed steps (default 5).
int[] SizeArgs() => [.. args.Skip(1).Where((a, i) => int.TryParse(a, out _) && args[i] != "--iters").Select(int.Parse).DefaultIfEmpty(96)];
int IterationsArg() => args.SkipWhile(a => a != "--iters").Skip(1).Select(int.Parse).FirstOrDefault(5);
