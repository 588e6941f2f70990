using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using MLNetTransfer.Tests.Reliability;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: <c>dotnet pack</c> into a folder feed; a console app that references the frozen-features
/// package only and trains a linear probe; one that references the fine-tuning package, runs TorchSharp and publishes for
/// Windows and macOS; and the CLI installed as a dotnet tool. Restores are offline: the feed plus the
/// machine's global packages folder as a local source. Each run packs a unique prerelease version, so a package cached
/// by an earlier run is never what gets tested.
/// </summary>
[NeedsAssets(TestCategory.Packaging)]
[Collection("packages")]
public class NuGetPackageTests(PackedFeed packed, ITestOutputHelper output)
{
    private string Version => packed.Version;
    private static readonly string GlobalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private string Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in ChildBuildEnvironment())
            if (value is null) start.Environment.Remove(key); else start.Environment[key] = value;
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        if (!p.WaitForExit(TimeSpan.FromMinutes(8))) { p.Kill(true); Assert.Fail($"dotnet {string.Join(' ', args)} did not finish in 8 minutes"); }
        var text = stdout.Result + stderr.Result;
        output.WriteLine($"dotnet {string.Join(' ', args)}: exit {p.ExitCode} in {watch.Elapsed.TotalSeconds:F0} s");
        Assert.True(p.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed (exit {p.ExitCode}):\n{text}");
        return text;
    }


    /// <summary>
    /// Environment changes for a dotnet child process (null removes): the test host runs under `dotnet test`, and its
    /// MSBuild variables must not leak into nested builds and restores.
    /// </summary>
    internal static Dictionary<string, string?> ChildBuildEnvironment()
    {
        var env = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH")
            .ToDictionary(k => k, _ => (string?)null);
        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        env["DOTNET_NOLOGO"] = "1";
        return env;
    }

    /// <summary>An offline NuGet config: the given folder feed (if any) and the machine's global packages folder.</summary>
    internal static void WriteNuGetConfig(string folder, string? feed, string fileName = "nuget.config") => File.WriteAllText(Path.Combine(folder, fileName), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            {(feed is null ? "" : $"<add key=\"feed\" value=\"{feed}\" />")}
            <add key="machine" value="{GlobalPackages}" />
          </packageSources>
        </configuration>
        """);

    [Fact]
    public void Frozen_features_package_has_no_torchsharp_and_a_console_app_trains_a_linear_probe_and_the_Vision_drop_in_from_it()
    {
        using var dir = new TempDir();
        var feed = packed.Feed;
        var (nupkg, deps) = Packed("MLNetTransfer",
            "lib/net10.0/MLNetTransfer.dll", "lib/net10.0/MLNetTransfer.xml", "interactive-extensions/dotnet/extension.dib");
        Assert.Contains("FeaturizeImage", ReadEntry(nupkg, "lib/net10.0/MLNetTransfer.xml"));
        Assert.Equal("6.0.0", deps["Microsoft.ML"]);
        Assert.Equal("6.0.0", deps["Microsoft.ML.ImageAnalytics"]);
        Assert.Equal("6.0.0", deps["Microsoft.ML.OnnxTransformer"]);
        Assert.Equal("1.32.0", deps["Microsoft.ML.OnnxRuntime"]);
        // The point of the split: frozen features need neither TorchSharp nor LibTorch (about 600 MB per platform).
        Assert.DoesNotContain(deps.Keys, d => d.Contains("torch", StringComparison.OrdinalIgnoreCase));
        // ResNet-18 comes from ML.NET's own package, a dependency: its 64 MB of ONNX must not be shipped again in ours.
        Assert.Equal("0.24.0", deps["Microsoft.ML.DnnImageFeaturizer.ResNet18"]);
        using (var zip = ZipFile.OpenRead(nupkg))
            Assert.DoesNotContain(zip.Entries, e => e.FullName.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase));

        var app = ConsoleApp(dir, feed, "MLNetTransfer", """
            using System.Globalization;
            using Microsoft.ML;
            using MLNetTransfer.Data;
            using MLNetTransfer.Evaluation;
            using MLNetTransfer.Training;
            using MLNetTransfer.Vision;

            var ml = new MLContext(seed: 1);
            var train = ImageFolder.Scan(args[0], new ImageFolderOptions { MaxPerClass = 30, Seed = 1 }).Images;
            var test = ImageFolder.Scan(args[1], new ImageFolderOptions { MaxPerClass = 20, Seed = 1 }).Images;
            var model = LinearProbe.Train(ml, train);
            var report = ModelEvaluation.Evaluate(ml, model, test);
            Console.WriteLine($"accuracy={report.Accuracy.ToString("F4", CultureInfo.InvariantCulture)} test={report.Count}");

            // Microsoft.ML.Vision's API from this package alone: no TorchSharp, no TensorFlow.
            IDataView Bytes(IReadOnlyList<LabeledImage> images) =>
                ml.Data.LoadFromEnumerable(images.Select(i => new Row { Image = File.ReadAllBytes(i.Path), Label = i.Label }));
            var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Bytes(train));
            var vision = ml.MulticlassClassification.Trainers.ImageClassification(new ImageClassificationTrainer.Options
            {
                FeatureColumnName = "Image", LabelColumnName = "Label", Epoch = 20, ValidationSet = keys.Transform(Bytes(test)),
            }).Fit(keys.Transform(Bytes(train)));
            var metrics = ml.MulticlassClassification.Evaluate(vision.Transform(keys.Transform(Bytes(test))));
            Console.WriteLine($"vision={metrics.MicroAccuracy.ToString("F4", CultureInfo.InvariantCulture)}");

            sealed class Row { public byte[] Image = []; public string Label = ""; }
            """);
        try
        {
            var run = Dotnet(app, "run", "-c", "Release", "--", TestAssets.Cifar10Train, TestAssets.Cifar10Test);
            output.WriteLine(run);
            var accuracy = double.Parse(System.Text.RegularExpressions.Regex.Match(run, @"accuracy=([0-9.]+) test=200").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(accuracy >= 0.45, $"linear probe from the package: accuracy {accuracy} < 0.45 (chance 0.10)");
            var vision = double.Parse(System.Text.RegularExpressions.Regex.Match(run, @"vision=([0-9.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(vision >= 0.45, $"Vision drop-in from the package: accuracy {vision} < 0.45 (chance 0.10)");
            var bin = Path.Combine(app, "bin", "Release", "net10.0");
            var files = Directory.GetFiles(bin, "*", SearchOption.AllDirectories);
            Assert.DoesNotContain(files, f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase));
            Assert.Contains(files, f => Path.GetFileName(f) == "libonnxruntime.so");
            output.WriteLine($"frozen-features app output folder: {files.Sum(f => new FileInfo(f).Length) / 1e6:F0} MB in {files.Length} files");
        }
        finally { ForgetCached("mlnettransfer"); }
    }

    [Fact]
    public void Fine_tuning_package_brings_torchsharp_and_its_natives_for_linux_windows_and_macos()
    {
        using var dir = new TempDir();
        var feed = packed.Feed;
        var (_, deps) = Packed("MLNetTransfer.TorchSharp",
            "lib/net10.0/MLNetTransfer.TorchSharp.dll", "lib/net10.0/MLNetTransfer.TorchSharp.xml",
            "buildTransitive/MLNetTransfer.TorchSharp.targets", "buildTransitive/TorchSharpLinuxCompat.targets", "buildTransitive/TorchSharpLinuxCompat.cs");
        Assert.Equal(Version, deps["MLNetTransfer"]);
        Assert.Equal("0.107.0", deps["TorchSharp"]);
        foreach (var rid in new[] { "linux-x64", "win-x64", "osx-arm64" }) Assert.Equal("2.10.0", deps["libtorch-cpu-" + rid]);

        var app = ConsoleApp(dir, feed, "MLNetTransfer.TorchSharp", """
            using MLNetTransfer.Training;
            // A type of each package, and TorchSharp's native glue, which loads on Debian 12 only if the package's
            // buildTransitive logic patched it (that libstdc++ predates GCC 13).
            Console.WriteLine($"options={new TransferLearningOptions().Strategy} report={typeof(MLNetTransfer.Evaluation.ClassificationReport).Name}");
            using var sum = TorchSharp.torch.arange(10).sum();
            Console.WriteLine($"torch={sum.item<long>()}");
            """);
        try
        {
            var run = Dotnet(app, "run", "-c", "Release");
            Assert.Contains("report=ClassificationReport", run);
            Assert.Contains("torch=45", run);

            // Windows and macOS cannot run here; their publish folders must carry every native library the app loads:
            // LibTorch and TorchSharp's glue, ONNX Runtime, SkiaSharp and HarfBuzz (images and plots). The Linux-only
            // libstdc++ patch must leave them alone.
            var natives = new Dictionary<string, string[]>
            {
                ["win-x64"] = ["torch_cpu.dll", "c10.dll", "LibTorchSharp.dll", "onnxruntime.dll", "libSkiaSharp.dll", "libHarfBuzzSharp.dll"],
                ["osx-arm64"] = ["libtorch_cpu.dylib", "libc10.dylib", "libLibTorchSharp.dylib", "libonnxruntime.dylib", "libSkiaSharp.dylib", "libHarfBuzzSharp.dylib"],
            };
            foreach (var (rid, required) in natives)
            {
                var publish = dir.Combine("publish-" + rid);
                Dotnet(app, "publish", "-c", "Release", "-r", rid, "--self-contained", "false", "-p:UseAppHost=false", "-o", publish);
                var names = Directory.GetFiles(publish, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToHashSet();
                foreach (var file in required) Assert.True(names.Contains(file), $"{rid} publish lacks {file}");
                Assert.DoesNotContain(names, n => n!.EndsWith(".so", StringComparison.Ordinal));
            }
        }
        finally { ForgetCached("mlnettransfer"); ForgetCached("mlnettransfer.torchsharp"); }
    }

    /// <summary>The package of <paramref name="project"/> this run packed, checked for the entries every package needs.</summary>
    private (string Nupkg, Dictionary<string, string> Dependencies) Packed(string project, params string[] entries)
    {
        var nupkg = packed.Nupkg(project);
        Assert.True(File.Exists(nupkg), "expected " + nupkg);
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var required in entries.Concat(["README.md", "LICENSE"])) Assert.Contains(required, names);
        var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open());
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var meta = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("MIT", meta.Element(ns + "license")!.Value);
        Assert.Equal("README.md", meta.Element(ns + "readme")!.Value);
        var deps = meta.Descendants(ns + "dependency").ToDictionary(d => d.Attribute("id")!.Value, d => d.Attribute("version")!.Value);
        Assert.DoesNotContain(deps.Keys, d => d.StartsWith("xunit") || d.StartsWith("Microsoft.NET.Test") || d.StartsWith("Microsoft.CodeAnalysis"));
        return (nupkg, deps);
    }

    private static string ReadEntry(string nupkg, string entry)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        return new StreamReader(zip.GetEntry(entry)!.Open()).ReadToEnd();
    }

    /// <summary>A console app in its own folder that restores <paramref name="package"/> from the feed only.</summary>
    private string ConsoleApp(TempDir dir, string feed, string package, string program)
    {
        var app = dir.Combine("app-" + package);
        Directory.CreateDirectory(app);
        WriteNuGetConfig(app, feed);
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <NoWarn>NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{package}" Version="{Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        return app;
    }

    /// <summary>The unique version lands in the machine's package cache; keep that cache as it was.</summary>
    private void ForgetCached(string id)
    {
        var cached = Path.Combine(GlobalPackages, id, Version);
        if (Directory.Exists(cached)) Directory.Delete(cached, true);
        var folder = Path.GetDirectoryName(cached)!;
        if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
    }

    [Fact]
    public void Cli_installs_as_a_dotnet_tool_and_runs_torch_and_onnx_runtime()
    {
        using var dir = new TempDir();
        var feed = dir.Combine("feed");
        Dotnet(dir.Path, ["pack", PackedFeed.Source("MLNetTransfer.Cli"), .. PackedFeed.PackArguments(feed, Version)]);
        var nupkg = Path.Combine(feed, $"MLNetTransfer.Cli.{Version}.nupkg");
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var names = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("tools/net10.0/linux-x64/DotnetToolSettings.xml", names);
            Assert.Contains("tools/net10.0/linux-x64/mlnet-transfer.dll", names);
            Assert.Contains("README.md", names);
        }
        WriteNuGetConfig(dir.Path, feed);
        var tools = dir.Combine("tools");
        Dotnet(dir.Path, "tool", "install", "--tool-path", tools, "--configfile", Path.Combine(dir.Path, "nuget.config"), "MLNetTransfer.Cli", "--version", Version);

        var start = new ProcessStartInfo(Path.Combine(tools, "mlnet-transfer")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "inspect", TestAssets.MobileNetV2Int8, "--images", TestAssets.Cifar10Test, "--json" }) start.ArgumentList.Add(a);
        start.Environment[TestAssets.Variable] = TestAssets.Root;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "the installed tool did not finish");
        Assert.True(p.ExitCode == 0, $"installed mlnet-transfer failed: {stderr.Result}");
        using var json = JsonDocument.Parse(stdout.Result);
        // The ORT-vs-TorchSharp comparison needs both runtimes working from the installed tool's own files.
        Assert.Equal(64, json.RootElement.GetProperty("images").GetInt32());
        Assert.InRange(json.RootElement.GetProperty("maxAbsDiff").GetDouble(), 0, 1e-3);
        Assert.Equal(3486816, json.RootElement.GetProperty("parameters").GetInt64());
    }
}
