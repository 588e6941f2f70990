using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Featurization;
using MLNetTransfer.Training;
using SkiaSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Featurization;

/// <summary>The dequantized MobileNetV2 backbone and in-graph flip averaging, on real CIFAR-10 JPEGs.</summary>
[NeedsAssets]
[Collection("heavy")]
public class BetterFrozenFeaturesTests(ITestOutputHelper output)
{
    private static IReadOnlyList<LabeledImage> Cifar(string dir, int perClass) => TestAssets.CifarSubset(dir, perClass);

    private static float[][] Embed(BackboneInfo backbone, bool flip, IEnumerable<string> paths) =>
        [.. new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, Assets = new(TestAssets.Root), FlipAverage = flip }).Featurize(paths)];

    private static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    [Fact]
    public void Flip_averaged_embedding_is_the_mean_of_the_image_and_its_mirror_and_mirror_invariant()
    {
        using var dir = new TempDir();
        var originals = Cifar(TestAssets.Cifar10Test, 1).Select(i => i.Path).ToList();
        // Mirrors as lossless PNGs of the decoded JPEG pixels, so both files decode to exact mirror images.
        var mirrors = originals.Select((p, i) => WriteMirror(p, dir.Combine($"mirror{i}.png"))).ToList();
        var backbone = BackboneCatalog.MobileNetV2Dequantized;

        var plain = Embed(backbone, false, originals);
        var plainMirror = Embed(backbone, false, mirrors);
        var averaged = Embed(backbone, true, originals);
        var averagedMirror = Embed(backbone, true, mirrors);

        float mirrorChange = 0, meanError = 0, invariance = 0;
        for (int i = 0; i < originals.Count; i++)
        {
            mirrorChange = Math.Max(mirrorChange, MaxAbsDiff(plain[i], plainMirror[i]));
            var mean = plain[i].Zip(plainMirror[i], (a, b) => (a + b) / 2).ToArray();
            meanError = Math.Max(meanError, MaxAbsDiff(averaged[i], mean));
            invariance = Math.Max(invariance, MaxAbsDiff(averaged[i], averagedMirror[i]));
        }
        output.WriteLine($"max |e(x) − e(mirror x)| {mirrorChange:G3}; max |flipavg − mean| {meanError:G3}; max |flipavg(x) − flipavg(mirror)| {invariance:G3}");
        Assert.True(mirrorChange > 0.05f, $"mirroring should change the embedding ({mirrorChange})");
        Assert.True(meanError < 1e-4f, $"flip-averaged embedding differs from the mean by {meanError}");
        Assert.True(invariance < 1e-4f, $"flip-averaged embedding is not mirror-invariant ({invariance})");
    }

    [Fact]
    public void Dequantized_backbone_with_flip_averaging_beats_0_64_on_cifar10_and_the_saved_model_keeps_the_flip()
    {
        var ml = new MLContext(1);
        var train = Cifar(TestAssets.Cifar10Train, 100);
        var test = Cifar(TestAssets.Cifar10Test, 50);
        var options = new LinearProbeOptions { Assets = new(TestAssets.Root), Backbone = BackboneCatalog.MobileNetV2Dequantized, FlipAverage = true };
        var model = LinearProbe.Train(ml, train, options);
        var report = ModelEvaluation.Evaluate(ml, model, test);
        output.WriteLine($"dequantized + flip averaging, 100/class CIFAR-10, 50/class test: accuracy {report.Accuracy:F4}, train {model.TrainSeconds:F1} s");
        // int8 pooled features give 0.626 on this split (FeaturizeImageTests asserts >= 0.58).
        Assert.True(report.Accuracy >= 0.64, $"accuracy {report.Accuracy:F4} < 0.64");

        using var dir = new TempDir();
        var zip = dir.Combine("model.zip");
        model.Save(ml, zip);
        using var loaded = ImageClassifierModel.Load(new MLContext(2), zip);
        // A mirrored image must score as its original in the reloaded model: the flip lives in the saved graph.
        var sample = test.Take(6).Select(t => t.Path).ToList();
        var mirrors = sample.Select((p, i) => WriteMirror(p, dir.Combine($"m{i}.png"))).ToList();
        var before = model.Predict(ml, sample);
        var after = loaded.Predict(new MLContext(2), mirrors);
        for (int i = 0; i < sample.Count; i++)
        {
            Assert.Equal(before[i].Label, after[i].Label);
            Assert.True(MaxAbsDiff(before[i].Scores, after[i].Scores) < 1e-4f, $"image {i}: scores differ");
        }
    }

    [Fact]
    public void Multi_block_embedding_is_the_block_averages_followed_by_the_dequantized_embedding()
    {
        var images = Cifar(TestAssets.Cifar10Test, 1).Select(i => i.Path).Take(4).ToList();
        var multi = Embed(BackboneCatalog.MobileNetV2MultiBlock, false, images);
        var last = Embed(BackboneCatalog.MobileNetV2Dequantized, false, images);
        // Block 13's whole feature map (96 × 14 × 14 at 224 px), averaged here per channel.
        var block13 = BackboneCatalog.MobileNetV2Dequantized with { Name = "block13-map", Embedding = new EmbeddingNode("426_quantized", 96 * 14 * 14) };
        var maps = Embed(block13, false, images);
        Assert.All(multi, v => Assert.Equal(1856, v.Length));
        float tailError = 0, headError = 0;
        for (int i = 0; i < images.Count; i++)
        {
            tailError = Math.Max(tailError, MaxAbsDiff(multi[i][^1280..], last[i]));
            var averages = Enumerable.Range(0, 96).Select(c => maps[i].Skip(c * 196).Take(196).Average()).ToArray();
            headError = Math.Max(headError, MaxAbsDiff(multi[i][..96], averages));
        }
        output.WriteLine($"multi-block: last 1280 vs dequantized {tailError:G3}; first 96 vs block-13 channel means {headError:G3}");
        Assert.True(tailError < 1e-5f, $"tail differs by {tailError}");
        Assert.True(headError < 1e-4f, $"block averages differ by {headError}");
        Assert.True(multi[0][..96].Distinct().Count() > 50, "block averages must not be constant");
    }

    private static string WriteMirror(string source, string target)
    {
        using var bitmap = SKBitmap.Decode(source);
        using var mirrored = new SKBitmap(bitmap.Info);
        using (var canvas = new SKCanvas(mirrored))
        {
            canvas.Scale(-1, 1, bitmap.Width / 2f, 0);
            canvas.DrawBitmap(bitmap, 0, 0);
        }
        using var png = SKImage.FromBitmap(mirrored).Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(target, png.ToArray());
        return target;
    }
}
