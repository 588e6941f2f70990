// TorchSharp speed probe: a MobileNetV2 (torchvision layout, width 1.0, 1000 classes) built from torch.nn modules,
// timed for one SGD training step and one eval forward at a given batch / image size. Not product code; findings are
// in docs/torch-performance-notes.md, the Python counterpart is mobilenet_v2_probe.py beside this file.
//
//   dotnet run -c Release --project bench/probes/TorchPerfProbe -- [options]
//     --threads N        torch.set_num_threads(N) (default: leave libtorch's default)
//     --interop N        torch.set_num_interop_threads(N)
//     --channels-last    input and 4-D weights in channels-last (NHWC) strides
//     --no-scope         do not dispose per-iteration tensors (leave them to the GC / finalizers)
//     --eval-mode M      inference | nograd | none   (default inference)
//     --batch B --size S --warmup W --iters I --train-only --eval-only
using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

var opt = Options.Parse(args);
if (opt.Threads > 0) torch.set_num_threads(opt.Threads);
if (opt.Interop > 0) torch.set_num_interop_threads(opt.Interop);
torch.manual_seed(0);

var model = MobileNetV2.Create(numClasses: 1000);
var x = torch.randn(opt.Batch, 3, opt.Size, opt.Size);
var y = torch.randint(0, 1000, new long[] { opt.Batch }, dtype: int64);
if (opt.ChannelsLast)
{
    x = ToChannelsLast(x);
    using (torch.no_grad())
        foreach (var p in model.parameters())
            if (p.dim() == 4) p.set_(ToChannelsLast(p));
}
var sgd = torch.optim.SGD(model.parameters(), 0.01, momentum: 0.9);

Console.Error.WriteLine($"threads={torch.get_num_threads()} interop={torch.get_num_interop_threads()} x.stride=[{string.Join(",", x.stride())}] " +
                        $"params={model.parameters().Sum(p => p.numel())}");

string trainStats = "", evalStats = "";
if (!opt.EvalOnly)
{
    model.train();
    trainStats = Measure(opt, () =>
    {
        var scope = opt.Scope ? torch.NewDisposeScope() : null;
        try
        {
            sgd.zero_grad();
            var loss = functional.cross_entropy(model.forward(x), y);
            loss.backward();
            sgd.step();
        }
        finally { scope?.Dispose(); }
    });
}
if (!opt.TrainOnly)
{
    model.eval();
    evalStats = Measure(opt, () =>
    {
        var scope = opt.Scope ? torch.NewDisposeScope() : null;
        IDisposable? mode = opt.EvalMode switch
        {
            "inference" => torch.inference_mode(true),
            "nograd" => torch.no_grad(),
            _ => null,
        };
        try { model.forward(x); }
        finally { mode?.Dispose(); scope?.Dispose(); }
    });
}

var proc = Process.GetCurrentProcess();
Console.WriteLine($"torchsharp batch={opt.Batch} size={opt.Size} threads={torch.get_num_threads()} interop={torch.get_num_interop_threads()} " +
                  $"channels_last={opt.ChannelsLast} scope={opt.Scope} eval_mode={opt.EvalMode} | train {trainStats} | eval {evalStats} | " +
                  $"gc0/1/2={GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} peakRSS={proc.PeakWorkingSet64 / (1 << 20)}MB");

static string Measure(Options opt, Action step)
{
    for (int i = 0; i < opt.Warmup; i++) step();
    var ms = new double[opt.Iters];
    for (int i = 0; i < opt.Iters; i++)
    {
        var sw = Stopwatch.StartNew();
        step();
        ms[i] = sw.Elapsed.TotalMilliseconds;
    }
    Array.Sort(ms);
    return $"median {ms[ms.Length / 2]:F1} ms (min {ms[0]:F1}, max {ms[^1]:F1}, n={ms.Length})";
}

// Channels-last is a stride layout: logical NCHW, physical NHWC. TorchSharp 0.107 has no contiguous(memory_format)
// or Module.to(memory_format), but permute -> contiguous -> permute back produces exactly those strides.
static Tensor ToChannelsLast(Tensor t) => t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

sealed record Options(int Threads, int Interop, bool ChannelsLast, bool Scope, string EvalMode, int Batch, int Size,
                      int Warmup, int Iters, bool TrainOnly, bool EvalOnly)
{
    public static Options Parse(string[] a)
    {
        var o = new Options(0, 0, false, true, "inference", 32, 96, 3, 10, false, false);
        for (int i = 0; i < a.Length; i++)
        {
            o = a[i] switch
            {
                "--threads" => o with { Threads = int.Parse(a[++i]) },
                "--interop" => o with { Interop = int.Parse(a[++i]) },
                "--channels-last" => o with { ChannelsLast = true },
                "--no-scope" => o with { Scope = false },
                "--eval-mode" => o with { EvalMode = a[++i] },
                "--batch" => o with { Batch = int.Parse(a[++i]) },
                "--size" => o with { Size = int.Parse(a[++i]) },
                "--warmup" => o with { Warmup = int.Parse(a[++i]) },
                "--iters" => o with { Iters = int.Parse(a[++i]) },
                "--train-only" => o with { TrainOnly = true },
                "--eval-only" => o with { EvalOnly = true },
                _ => throw new ArgumentException($"unknown option {a[i]}; see the header of Program.cs"),
            };
        }
        return o;
    }
}

/// <summary>torchvision.models.mobilenet_v2 layout (width 1.0, round_nearest 8), same initialisation.</summary>
static class MobileNetV2
{
    public static Sequential Create(int numClasses)
    {
        var layers = new List<Module<Tensor, Tensor>> { ConvBnRelu6(3, 32, 3, 2) };
        long input = 32;
        // t (expansion), c (channels), n (repeats), s (first stride)
        foreach (var (t, c, n, s) in new[] { (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1) })
            for (int i = 0; i < n; i++)
            {
                layers.Add(new InvertedResidual(input, c, i == 0 ? s : 1, t));
                input = c;
            }
        layers.Add(ConvBnRelu6(input, 1280, 1, 1));
        layers.Add(AdaptiveAvgPool2d(new long[] { 1, 1 }));
        layers.Add(Flatten(1));
        layers.Add(Dropout(0.2));
        layers.Add(Linear(1280, numClasses));
        var model = Sequential(layers.ToArray());

        using (torch.no_grad())
            foreach (var m in model.modules())
                switch (m)
                {
                    case Conv2d conv:
                        init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut);
                        break;
                    case BatchNorm2d bn:
                        init.ones_(bn.weight); init.zeros_(bn.bias);
                        break;
                    case Linear fc:
                        init.normal_(fc.weight, 0, 0.01); init.zeros_(fc.bias);
                        break;
                }
        return model;
    }

    public static Sequential ConvBnRelu6(long inCh, long outCh, long kernel, long stride, long groups = 1) =>
        Sequential(
            Conv2d(inCh, outCh, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
            BatchNorm2d(outCh),
            ReLU6());

    sealed class InvertedResidual : Module<Tensor, Tensor>
    {
        private readonly Sequential conv;
        private readonly bool residual;

        public InvertedResidual(long inCh, long outCh, long stride, long expand) : base(nameof(InvertedResidual))
        {
            long hidden = inCh * expand;
            residual = stride == 1 && inCh == outCh;
            var layers = new List<Module<Tensor, Tensor>>();
            if (expand != 1) layers.Add(ConvBnRelu6(inCh, hidden, 1, 1));                  // pointwise expand
            layers.Add(ConvBnRelu6(hidden, hidden, 3, stride, groups: hidden));              // depthwise 3x3
            layers.Add(Conv2d(hidden, outCh, 1, bias: false));                               // pointwise linear
            layers.Add(BatchNorm2d(outCh));
            conv = Sequential(layers.ToArray());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => residual ? x + conv.forward(x) : conv.forward(x);
    }
}
