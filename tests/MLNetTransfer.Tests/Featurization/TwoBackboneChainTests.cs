using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Featurization;

/// <summary>
/// Two frozen backbones in one ML.NET chain (two <c>FeaturizeImage</c> transforms and <c>Concatenate</c>): the recipe that
/// gives the best frozen-feature accuracy on all of CIFAR-10 (docs/benchmarks.md). Both featurizers use the same
/// internal image and pixel column names, so the second must not disturb the first's output.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class TwoBackboneChainTests(ITestOutputHelper output)
{
    [Fact]
    public void Concatenated_featurizers_give_each_backbones_own_embedding_side_by_side()
    {
        var ml = new MLContext(1);
        var images = TestAssets.CifarSubset(TestAssets.Cifar10Test, 1).Take(4).ToList();
        var view = ml.Data.LoadFromEnumerable(images.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));
        var assets = new AssetResolver(TestAssets.Root);
        FeaturizeImageOptions Options(BackboneInfo b, string column) =>
            new() { Backbone = b, Assets = assets, FlipAverage = true, OutputColumnName = column };
        var first = Options(BackboneCatalog.ResNet18MultiBlockInt8, "ResNet");
        var second = Options(BackboneCatalog.MobileNetV2MultiBlock, "MobileNet");

        var chain = ml.Transforms.FeaturizeImage(first)
            .Append(ml.Transforms.FeaturizeImage(second))
            .Append(ml.Transforms.Concatenate("Features", "ResNet", "MobileNet"))
            .Fit(view);
        var joined = chain.Transform(view).GetColumn<float[]>("Features").ToList();

        var alone1 = new ImageFeaturizer(first).Featurize(images.Select(i => i.Path)).ToList();
        var alone2 = new ImageFeaturizer(second).Featurize(images.Select(i => i.Path)).ToList();
        Assert.Equal(BackboneCatalog.ResNet18MultiBlockInt8.Embedding.Dimension + BackboneCatalog.MobileNetV2MultiBlock.Embedding.Dimension, joined[0].Length);
        float worst = 0;
        for (int i = 0; i < images.Count; i++)
        {
            float[] expected = [.. alone1[i], .. alone2[i]];
            worst = Math.Max(worst, expected.Zip(joined[i], (a, b) => Math.Abs(a - b)).Max());
        }
        output.WriteLine($"{joined[0].Length} values per image; max |chain − separate featurizers| {worst:G3}");
        Assert.True(worst < 1e-4f, $"the chained embedding differs from the separate ones by {worst}");
        // The two halves are different networks' features, not one copied twice.
        Assert.NotEqual(alone1[0][^8..], alone2[0][^8..]);
    }
}
