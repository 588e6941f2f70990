using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNetTransfer.Backbones;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Bench;

/// <summary>
/// Does the int8 ResNet-18 run faster on two cores as one session with two intra-op threads, or as two single-threaded
/// sessions each running its own batches? Pre-decoded 224 px tensors, batch 32, alternating rounds.
/// </summary>
internal static class Int8ThreadsProbe
{
    public static void Run(string assets, int rounds)
    {
        var paths = ResNet18Bench.FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), 32).Select(i => i.Path).Take(320).ToList();
        var tensors = ResNet18Bench.PreDecode(paths, BackboneCatalog.ResNet18.Normalization(AssetResolver.Default));
        var model = FeaturizerGraph.BuildFloatNetwork(BackboneCatalog.ResNet18Int8, AssetResolver.Default, "embedding");
        Onnx.OnnxInt8Quantizer.FoldBatchNormalization(model);
        Onnx.OnnxInt8Quantizer.Quantize(model, BackboneCatalog.ResNet18Int8.Int8Ranges!);
        var bytes = model.ToByteArray();
        string input = BackboneCatalog.ResNet18.InputName;
        InferenceSession Session(int threads, bool spin)
        {
            using var o = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            if (!spin) o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            return new InferenceSession(bytes, o);
        }
        using var two = Session(2, true);
        using var twoNoSpin = Session(2, false);
        using var oneA = Session(1, true);
        using var oneB = Session(1, true);
        int per = 3 * 224 * 224, batches = (paths.Count + 31) / 32;
        void Batch(InferenceSession s, int b)
        {
            int start = b * 32, n = Math.Min(32, paths.Count - start);
            using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(tensors, start * per, n * per), [n, 3, 224, 224]);
            using var ro = new RunOptions();
            using var result = s.Run(ro, [input], [value], ["embedding"]);
        }
        double Time(Action a) { GC.Collect(); var w = System.Diagnostics.Stopwatch.StartNew(); a(); return w.Elapsed.TotalSeconds; }
        var cases = new (string Name, Action Work)[]
        {
            ("one session, 2 intra-op threads (spinning)", () => { for (int b = 0; b < batches; b++) Batch(two, b); }),
            ("one session, 2 intra-op threads, no spinning", () => { for (int b = 0; b < batches; b++) Batch(twoNoSpin, b); }),
            ("two 1-thread sessions, alternate batches in parallel", () => Parallel.Invoke(
                () => { for (int b = 0; b < batches; b += 2) Batch(oneA, b); },
                () => { for (int b = 1; b < batches; b += 2) Batch(oneB, b); })),
        };
        foreach (var c in cases) c.Work(); // warm-up
        var seconds = cases.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < cases.Length; i++) seconds[i].Add(Time(cases[i].Work));
        for (int i = 0; i < cases.Length; i++)
            Console.WriteLine($"| {cases[i].Name} | {string.Join(" / ", seconds[i].Select(s => $"{paths.Count / s:F1}"))} |");
    }

    /// <summary>FeaturizeImage end to end on 320 CIFAR-10 test images with other batch sizes and session counts.</summary>
    public static void Configs(string assets, int rounds, BackboneInfo backbone)
    {
        Console.WriteLine($"backbone {backbone.Name}");
        var paths = ResNet18Bench.FirstPerClass(Path.Combine(assets, "datasets/cifar10/test"), 32).Select(i => i.Path).Take(320).ToList();
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(paths.Select(p => new Row { ImagePath = p }));
        var configs = new (int Batch, int Sessions)[] { (32, 1), (32, 2), (64, 2), (16, 2), (32, 3) };
        var fitted = configs.Select(c =>
        {
            var t = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Backbone = backbone, Assets = new AssetResolver(assets), BatchSize = c.Batch, Sessions = c.Sessions, Threads = Math.Max(2, c.Sessions) }).Fit(view);
            t.Transform(view).GetColumn<float[]>("Features").Count(); // every session warmed
            return t;
        }).ToList();
        var seconds = configs.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < configs.Length; i++)
            {
                GC.Collect();
                var w = System.Diagnostics.Stopwatch.StartNew();
                fitted[i].Transform(view).GetColumn<float[]>("Features").Count();
                seconds[i].Add(w.Elapsed.TotalSeconds);
            }
        for (int i = 0; i < configs.Length; i++)
            Console.WriteLine($"| batch {configs[i].Batch}, {configs[i].Sessions} session(s) | {string.Join(" / ", seconds[i].Select(s => $"{paths.Count / s:F1}"))} |");
    }

    private sealed class Row { public string ImagePath { get; set; } = ""; }
}
