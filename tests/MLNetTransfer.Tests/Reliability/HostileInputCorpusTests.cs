using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using MLNetTransfer.Tests.Cli;
using SkiaSharp;
using Xunit.Abstractions;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Reliability;

/// <summary>
/// The hostile-input corpus: each case is generated here, run through the real CLI, and must end with the documented
/// exit code, a message naming the file and the reason (or a reported skip), and no partial output. docs/reliability.md
/// lists the same cases; a test keeps the two in step.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class HostileInputCorpusTests(ITestOutputHelper output)
{
    /// <summary>One case: what to build in a temp folder, the command to run, and what must come out.</summary>
    /// <param name="Args">CLI arguments; <c>{dir}</c> is replaced by the case's temp folder.</param>
    /// <param name="Rows">For featurize cases: the number of rows the Parquet output must hold (null: no output file at all).</param>
    public sealed record Case(string Name, Action<string> Arrange, string[] Args, int ExitCode, string[] Messages, int? Rows = null);

    private static readonly string Featurize = "featurize --images {dir}/data --out {dir}/out/emb.parquet --quiet";
    private static readonly string Inspect = "inspect {dir}/model.onnx";
    private static readonly string FeaturizeWith = "featurize --images {dir}/data --backbone {dir}/model.onnx --feature-node emb --out {dir}/out/emb.parquet --quiet";
    private static readonly string TrainProbe = "train --train {dir}/data --out {dir}/out --max-per-class 3 --quiet";

    private static string[] Cli(string line) => line.Split(' ');

    private static void FlatFolder(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllBytes(Path.Combine(dir, "data", "x.jpg"), RealJpeg());
    }

    /// <summary>A valid dataset: classes a (cats) and b (dogs), three real CIFAR-10 images each; returns the folder of class a.</summary>
    private static string Dataset(string dir, string name = "data", int perClass = 3)
    {
        foreach (var (cls, source) in new[] { ("a", "cat"), ("b", "dog") })
        {
            var target = Path.Combine(dir, name, cls);
            Directory.CreateDirectory(target);
            foreach (var f in Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, source)).Order(StringComparer.Ordinal).Take(perClass))
                File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        }
        return Path.Combine(dir, name, "a");
    }

    private static byte[] RealJpeg() => File.ReadAllBytes(Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "cat")).Order(StringComparer.Ordinal).Last());

    private static Action<string> WithImage(string file, Func<byte[]> bytes) => dir => File.WriteAllBytes(Path.Combine(Dataset(dir), file), bytes());

    private static Case Skipped(string name, string file, Func<byte[]> bytes, string reason) =>
        new(name, WithImage(file, bytes), Cli(Featurize), 0, [$"skipped: ", file, reason], Rows: 6);

    private static Case Used(string name, string file, Func<byte[]> bytes) =>
        new(name, WithImage(file, bytes), Cli(Featurize), 0, [], Rows: 7);

    /// <summary>A stand-in backbone: x [N,C,224,224] → GlobalAveragePool → Flatten → emb [N,C], optionally times a constant.</summary>
    private static OnnxModel TinyBackbone(int channels = 3, float scale = 1, int opset = 13)
    {
        var b = new OnnxGraphBuilder("tiny");
        b.AddInput("x", OnnxDataType.Float, [null, channels, 224, 224]);
        var pooled = b.Add("GlobalAveragePool", ["x"]);
        var flat = b.Add("Flatten", [pooled]);
        b.AddInitializer("scale", [1], [scale]);
        b.AddNode("Mul", [flat, "scale"], ["emb"]);
        b.AddOutput("emb", OnnxDataType.Float, [null, channels]);
        var model = b.Build();
        model.Proto.OpsetImport[0].Version = opset; // set after building: a newer exporter's file, not validated here
        return model;
    }

    private static Action<string> WithModel(Func<byte[]> bytes, bool dataset = false) => dir =>
    {
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), bytes());
        if (dataset) Dataset(dir);
    };

    private static byte[] Garbled()
    {
        var bytes = File.ReadAllBytes(TestAssets.MobileNetV2Int8)[..65536];
        new Random(7).NextBytes(bytes.AsSpan(16, 4096)); // keep the first field, scramble the structure after it
        return bytes;
    }

    private static byte[] WithExternalData(string location)
    {
        var model = TinyBackbone();
        var w = model.Graph.FindInitializer("scale")!;
        w.ClearRawData();
        w.FloatData.Clear();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        return model.ToByteArray();
    }

    public static IReadOnlyList<Case> Cases { get; } =
    [
        // Images inside a dataset folder: unusable ones are reported and skipped, odd-but-valid ones are used.
        Skipped("truncated JPEG", "cut.jpg", () => RealJpeg()[..(RealJpeg().Length / 2)], "truncated"),
        Skipped("JPEG with a garbled header", "garbled.jpg", () => { var b = RealJpeg(); Array.Fill(b, (byte)0x5A, 2, 40); return b; }, "not a readable image"),
        Skipped("truncated PNG", "cut.png", () => { var p = HostileFiles.Encode(64, 64, SKColors.Teal, SKEncodedImageFormat.Png); return p[..(p.Length * 2 / 3)]; }, "truncated"),
        Skipped("PNG with a corrupt compressed stream", "crc.png", () => { var p = HostileFiles.Png16(16, 16, 1000, 2000, 3000); p[^20] ^= 0xFF; p[^22] ^= 0x55; return p; }, "image"),
        Skipped("zero-byte file", "zero.jpg", () => [], "zero-byte"),
        Skipped("text named .jpg", "text.jpg", () => "just some text, not pixels"u8.ToArray(), "not a readable image"),
        Skipped("12000x12000 JPEG (decompression bomb)", "huge.jpg", () => HostileFiles.FlatJpeg(12000, 12000, 90), "megapixel"),
        Used("CMYK JPEG", "cmyk.jpg", () => HostileFiles.FlatJpeg(32, 32, 255, 0, 0, 255)),
        Used("16-bit PNG", "deep.png", () => HostileFiles.Png16(32, 32, 65535, 0, 32768)),
        Used("PNG with alpha", "alpha.png", () => HostileFiles.Encode(32, 32, new SKColor(0, 200, 0, 60), SKEncodedImageFormat.Png)),
        Used("1x1 image", "dot.png", () => HostileFiles.Encode(1, 1, SKColors.Red, SKEncodedImageFormat.Png)),
        Used("grayscale JPEG", "gray.jpg", () => HostileFiles.FlatJpeg(40, 24, 200)),
        new("unicode and spaces in paths", dir => { Dataset(dir, "dåtå sét ü"); Directory.Move(Path.Combine(dir, "dåtå sét ü", "a"), Path.Combine(dir, "dåtå sét ü", "猫 cat")); },
            ["featurize", "--images", "{dir}/dåtå sét ü", "--out", "{dir}/out/ém b.parquet", "--quiet"], 0, [], Rows: 6),
        new("symbolic link loop in a class folder", dir => Directory.CreateSymbolicLink(Path.Combine(Dataset(dir), "loop"), Path.Combine(dir, "data")),
            Cli(Featurize), 0, ["symbolic link"], Rows: 6),
        new("empty class folder", dir => { Dataset(dir); Directory.CreateDirectory(Path.Combine(dir, "data", "c")); }, Cli(Featurize), 0, ["'c' has no usable image"], Rows: 6),
        new("images directly in the root, no class folders (train)", FlatFolder, Cli(TrainProbe), 2, ["sub-folder per class"]),
        new("images directly in the root, no class folders (featurize: unlabelled rows)", FlatFolder, Cli(Featurize), 0, [], Rows: 1),
        new("missing image folder", _ => { }, Cli(Featurize), 2, ["data", "not found"]),
        new("one class only", dir => { Dataset(dir); Directory.Delete(Path.Combine(dir, "data", "b"), true); }, Cli(TrainProbe), 2, ["at least 2 classes"]),
        new("test labels unseen in training", dir => { Dataset(dir); Dataset(dir, "test"); Directory.Move(Path.Combine(dir, "test", "b"), Path.Combine(dir, "test", "zebra")); },
            Cli(TrainProbe + " --test {dir}/test"), 2, ["zebra", "not in the training classes"]),

        // Models: each a clear exit 2 naming the file, before any output is written.
        new("empty ONNX file", WithModel(() => []), Cli(Inspect), 2, ["model.onnx", "empty"]),
        new("truncated ONNX", WithModel(() => File.ReadAllBytes(TestAssets.MobileNetV2Int8)[..100_000]), Cli(Inspect), 2, ["model.onnx", "truncated"]),
        new("garbled ONNX", WithModel(Garbled), Cli(Inspect), 2, ["model.onnx"]),
        new("JPEG named .onnx", WithModel(RealJpeg), Cli(Inspect), 2, ["model.onnx"]),
        new("protobuf size bomb", WithModel(() => [0x3A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0, 0]), Cli(Inspect), 2, ["model.onnx", "remain"]),
        new("wrong opset (99)", WithModel(() => TinyBackbone(opset: 99).ToByteArray()), Cli(Inspect), 2, ["model.onnx", "opset 99"]),
        new("external data path traversal", WithModel(() => WithExternalData("../../etc/passwd")), Cli(Inspect), 2, ["model.onnx", "../../etc/passwd"]),
        new("external data file missing", WithModel(() => WithExternalData("weights.bin")), Cli(Inspect), 2, ["model.onnx", "weights.bin"]),
        new("backbone input shape mismatch (1-channel model, RGB images)", WithModel(() => TinyBackbone(channels: 1).ToByteArray(), dataset: true),
            Cli(FeaturizeWith), 2, ["model.onnx", "[N,3,H,W]"]),
        new("backbone embedding name absent", WithModel(() => TinyBackbone().ToByteArray(), dataset: true),
            Cli(FeaturizeWith.Replace("--feature-node emb", "--feature-node nowhere")), 2, ["model.onnx", "nowhere"]),
        new("NaN features from the backbone", WithModel(() => TinyBackbone(scale: float.NaN).ToByteArray(), dataset: true),
            Cli(FeaturizeWith), 2, ["NaN", "model.onnx"]),
        new("model.zip that is not a model", dir => File.WriteAllText(Path.Combine(dir, "model.zip"), "not a zip"),
            ["predict", "--model", "{dir}/model.zip", "x.jpg"], 2, ["model.zip"]),
        new("predict on a text file named .jpg", dir => { File.WriteAllText(Path.Combine(dir, "t.jpg"), "text"); TrainedProbe(dir); },
            ["predict", "--model", "{dir}/model/model.zip", "{dir}/t.jpg"], 2, ["t.jpg"]),

        // Output locations.
        new("output path under a regular file", dir => { Dataset(dir); File.WriteAllText(Path.Combine(dir, "out"), "a file"); },
            Cli(Featurize), 2, ["out"]),
        new("bad --shard", dir => Dataset(dir), Cli(Featurize + " --shard 3/3"), 2, ["--shard 3/3"]),
    ];

    // A linear probe trained once and reused by cases that need a model.
    private static readonly Lazy<string> probe = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "mlnt-probe-" + Guid.NewGuid().ToString("N")[..8]);
        // Shared by many cases, so it outlives each test; it goes when the test host exits.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        Dataset(dir);
        var r = CliProcess.Run("train", "--train", Path.Combine(dir, "data"), "--out", Path.Combine(dir, "model"), "--quiet");
        if (r.ExitCode != 0) throw new InvalidOperationException("probe training failed: " + r.Stderr);
        return Path.Combine(dir, "model");
    });

    private static void TrainedProbe(string dir) => CopyDirectory(probe.Value, Path.Combine(dir, "model"));

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    public static TheoryData<string> CaseNames() => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Case_ends_with_its_documented_behaviour(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        using var dir = new TempDir();
        c.Arrange(dir.Path);
        var before = Files(dir.Path);
        var r = CliProcess.Run([.. c.Args.Select(a => a.Replace("{dir}", dir.Path))]);
        output.WriteLine($"exit {r.ExitCode}\n--- stdout\n{r.Stdout}\n--- stderr\n{r.Stderr}");

        Assert.Equal(c.ExitCode, r.ExitCode);
        foreach (var m in c.Messages) Assert.Contains(m, r.Stderr);
        if (c.ExitCode != 0)
        {
            var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:"));
            Assert.DoesNotContain("Exception", line.Replace("Exception)", "")); // a reason, not a stack trace
        }
        var created = Files(dir.Path).Except(before).ToList();
        Assert.DoesNotContain(created, f => f.EndsWith(".tmp") || Path.GetFileName(f).StartsWith('.'));
        if (c.Rows is int rows)
        {
            var parquet = Assert.Single(created, f => f.EndsWith(".parquet"));
            var records = EmbeddingParquetWriter.ReadAll(parquet);
            Assert.Equal(rows, records.Count);
            Assert.All(records, e => Assert.All(e.Embedding, v => Assert.True(float.IsFinite(v))));
        }
        else Assert.Empty(created); // a failed command leaves nothing behind
    }

    [Fact]
    public void Docs_list_every_case()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "reliability.md"));
        Assert.All(Cases, c => Assert.Contains($"| {c.Name} |", doc));
        Assert.True(Cases.Count >= 30, $"the corpus holds {Cases.Count} cases");
    }

    [Fact]
    public void Odd_but_valid_images_decode_to_their_colours()
    {
        // CMYK (Adobe-inverted) C=255 M=0 Y=0 K=255 is pure red; the 16-bit PNG keeps its high bytes.
        var cmyk = MLNetTransfer.Data.RawImage.DecodeToPlanes(HostileFiles.FlatJpeg(16, 16, 255, 0, 0, 255), "cmyk", out _, out _);
        Assert.Equal([255, 0, 0], new[] { cmyk[0], cmyk[256], cmyk[512] });
        var deep = MLNetTransfer.Data.RawImage.DecodeToPlanes(HostileFiles.Png16(4, 4, 65535, 0, 32768), "png16", out _, out _);
        Assert.Equal(255, deep[0]);
        Assert.Equal(0, deep[16]);
        Assert.InRange(deep[32], 127, 128);
        var gray = MLNetTransfer.Data.RawImage.DecodeToPlanes(HostileFiles.FlatJpeg(8, 8, 200), "gray", out _, out _);
        Assert.All(gray, v => Assert.Equal(200, v));
    }

    private static SortedSet<string> Files(string root) =>
        new(Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(File.Exists), StringComparer.Ordinal);

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MLNetTransfer.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }
}
