using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNetTransfer.Backbones;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Tests.Onnx;
using SkiaSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Backbones;

/// <summary>ResNet-18 from ML.NET's own NuGet package: found without assets, raised from opset 8, fed like ML.NET feeds it.</summary>
[Collection("heavy")]
public class ResNet18PackageTests(ITestOutputHelper output)
{
    private static readonly BackboneInfo ResNet18 = BackboneCatalog.ResNet18;
    private static AssetResolver NoAssets(TempDir dir) => new(dir.Path) { AllowDownload = false };

    [Fact]
    public void Resolves_from_the_package_with_no_assets_folder_and_checks_its_sha256()
    {
        using var empty = new TempDir();
        var path = NoAssets(empty).Resolve(ResNet18.Asset);
        Assert.True(path.EndsWith("ResNet18Onnx/ResNet18.onnx", StringComparison.Ordinal), path);
        Assert.Equal(ResNet18.Asset.Sha256, AssetResolver.Sha256Hex(path));
        Assert.Equal(63_653_533, new FileInfo(path).Length);
        // The package version recorded in the catalog is the one the build restores.
        var props = File.ReadAllText(Path.Combine(RepoRoot(), "Directory.Packages.props"));
        Assert.Contains($"Include=\"{BackboneCatalog.ResNet18Package}\" Version=\"{BackboneCatalog.ResNet18PackageVersion}\"", props);
    }

    [Fact]
    public void A_missing_or_corrupt_package_file_names_the_package_the_file_and_the_sha256()
    {
        using var dir = new TempDir();
        var content = ResNet18.Asset.Package!;
        var missing = Assert.Throws<AssetNotFoundException>(() => PackageContent.Resolve(ResNet18.Asset, content, [dir.Combine("nothing.onnx")]));
        foreach (var part in new[] { content.PackageId, content.PathInPackage, ResNet18.Asset.Sha256! }) Assert.Contains(part, missing.Message);

        var corrupt = dir.Combine("ResNet18.onnx");
        var bytes = File.ReadAllBytes(new AssetResolver().Resolve(ResNet18.Asset));
        bytes[bytes.Length / 2] ^= 0xFF; // same size, one byte flipped
        File.WriteAllBytes(corrupt, bytes);
        var bad = Assert.Throws<AssetIntegrityException>(() => PackageContent.Resolve(ResNet18.Asset, content, [corrupt]));
        foreach (var part in new[] { content.PackageId, content.PathInPackage, ResNet18.Asset.Sha256!, corrupt }) Assert.Contains(part, bad.Message);
        output.WriteLine(bad.Message);
    }

    [Fact]
    public void Raised_to_opset_13_it_computes_what_ort_computes_on_the_original_file()
    {
        var path = new AssetResolver().Resolve(ResNet18.Asset);
        var original = OnnxModel.Load(path);
        Assert.Equal(8, original.OpsetVersion());
        var raised = BackboneModels.Load(ResNet18, new AssetResolver());
        Assert.Equal(OnnxOpsetUpgrade.EditingOpset, raised.OpsetVersion());
        Assert.DoesNotContain(raised.Graph.Node, n => n.OpType == "BatchNormalization" && n.FindAttribute("spatial") is not null);
        Assert.Single(raised.Graph.Node, n => n.OpType == "GlobalAveragePool"); // CNTK's 7×7 AveragePool, valid at any size now

        var random = new Random(3);
        double diff = 0, largest = 0;
        for (int image = 0; image < 2; image++) // the original file takes batches of exactly 1
        {
            var input = new float[3 * 224 * 224];
            for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 255 - 120);
            var expected = OrtRunner.Run(original, "Input247", input, [1, 3, 224, 224], "Pooling395_Output_0")["Pooling395_Output_0"].Data;
            var actual = OrtRunner.Run(raised, "Input247", input, [1, 3, 224, 224], "Pooling395_Output_0")["Pooling395_Output_0"].Data;
            diff = Math.Max(diff, expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max());
            largest = Math.Max(largest, expected.Max(Math.Abs));
        }
        output.WriteLine($"opset 8 vs raised to 13, ORT, 2 random inputs: max abs diff {diff:E2} (values up to {largest:F2})");
        Assert.True(diff < 1e-4, $"max abs diff {diff}");

        // The whole reason for raising it: the featurizer graph (in-graph resize + normalization) now builds and runs at any size.
        var small = FeaturizerGraph.Build(ResNet18, new AssetResolver(), 64);
        var pixels = new float[3 * 20 * 20]; // smaller than the network's stride (32): upscaled in the graph, not refused
        Array.Fill(pixels, 0.5f);
        var embedding = OrtRunner.Run(small, FeaturizerGraph.InputName, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, [1, 3, 20, 20]), "embedding")["embedding"];
        Assert.Equal([1, 512], embedding.Shape);
        Assert.All(embedding.Data, v => Assert.True(float.IsFinite(v)));
    }

    [NeedsAssets]
    [Fact]
    public void Mean_image_is_ml_nets_and_features_match_ml_nets_DnnFeaturizeImage()
    {
        // ML.NET's own preprocessing graph holds the mean image the catalog entry reads.
        var normalization = ResNet18.Normalization(new AssetResolver());
        Assert.Equal(ChannelOrder.Bgr, normalization.ChannelOrder);
        Assert.Equal(255f, normalization.PixelScale);
        Assert.Equal(3 * 224 * 224, normalization.MeanImage!.Length);
        Assert.Equal(103.06, normalization.MeanImage.Take(224 * 224).Average(), 1); // blue plane first (BGR)

        using var dir = new TempDir();
        var images = WriteCifarAt224(dir, 6);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(images.Select(p => new PathRow { ImagePath = p }));
        // ML.NET's documented ResNet-18 featurizer chain.
        var mlnet = ml.Transforms.LoadImages("Image", null, nameof(PathRow.ImagePath))
            .Append(ml.Transforms.ResizeImages("Image", 224, 224))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"));
        var theirs = ml.Data.CreateEnumerable<FeatureRow>(mlnet.Fit(data).Transform(data), reuseRowObject: false).Select(r => r.Features).ToList();
        var ours = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = ResNet18, DecodeSize = (224, 224) }).Featurize(images).ToList();
        Assert.Equal(images.Count, ours.Count);
        double diff = 0, scale = 0;
        for (int i = 0; i < images.Count; i++)
        {
            Assert.Equal(512, ours[i].Length);
            diff = Math.Max(diff, ours[i].Zip(theirs[i], (a, b) => Math.Abs(a - b)).Max());
            scale = Math.Max(scale, theirs[i].Max());
        }
        output.WriteLine($"{images.Count} CIFAR images at 224: max abs diff vs ML.NET DnnFeaturizeImage {diff:E2} (largest feature {scale:F2})");
        Assert.True(diff < 1e-3, $"max abs diff {diff}");
    }

    internal static List<string> WriteCifarAt224(TempDir dir, int count)
    {
        var files = Directory.GetDirectories(TestAssets.Cifar10Test).Order().Select(d => Directory.GetFiles(d).Order().First()).Take(count);
        var result = new List<string>();
        foreach (var f in files)
        {
            using var original = SKBitmap.Decode(f);
            using var big = original.Resize(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Unpremul), MLNetTransfer.Data.RawImage.Medium);
            var path = dir.Combine(Path.GetFileNameWithoutExtension(f) + ".png");
            using (var stream = File.Create(path)) big.Encode(stream, SKEncodedImageFormat.Png, 100);
            result.Add(path);
        }
        return result;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MLNetTransfer.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root not found above the test binaries");
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }
    private sealed class FeatureRow { [VectorType(512)] public float[] Features { get; set; } = []; }
}
