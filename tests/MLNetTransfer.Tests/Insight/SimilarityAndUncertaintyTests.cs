using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Insight;
using SkiaSharp;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Insight;

[Collection("heavy")]
public class SimilarityAndUncertaintyTests(ITestOutputHelper output)
{
    [Fact]
    public void Cosine_matrix_equals_a_naive_reference()
    {
        var random = new Random(4);
        var v = Enumerable.Range(0, 30).Select(_ => Enumerable.Range(0, 17).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToList();
        v[3] = new float[17]; // a zero vector: similarity 0 by definition here
        var m = EmbeddingSimilarity.CosineMatrix(v);
        for (int i = 0; i < 30; i++)
            for (int j = 0; j < 30; j++)
            {
                double dot = 0, a = 0, b = 0;
                for (int d = 0; d < 17; d++) { dot += v[i][d] * v[j][d]; a += v[i][d] * v[i][d]; b += v[j][d] * v[j][d]; }
                double expected = a == 0 || b == 0 ? 0 : dot / Math.Sqrt(a * b);
                Assert.Equal(expected, m[i, j], 5);
            }
    }

    [NeedsAssets]
    [Fact]
    public void Nearest_neighbour_of_real_cifar_embeddings_shares_the_label_and_heatmap_renders()
    {
        var items = ImageFolder.Scan(TestAssets.Cifar10Test, new ImageFolderOptions { MaxPerClass = 100, ValidateImages = false }).Images;
        var embeddings = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) }).Featurize(items.Select(i => i.Path)).ToList();
        var m = EmbeddingSimilarity.CosineMatrix(embeddings, center: true);
        var nn = EmbeddingSimilarity.NearestNeighbors(m, 1);
        double same = nn.Select((n, i) => items[n[0].Other].Label == items[i].Label ? 1.0 : 0.0).Average();
        output.WriteLine($"nearest neighbour shares the label for {same:P1} of 1,000 CIFAR images (chance 10%)");
        Assert.True(same >= 0.5, $"same-label rate {same}");
        using var dir = new TempDir();
        EmbeddingSimilarity.SaveHeatmap(m, [.. items.Select(i => i.Label)], dir.Combine("similarity.png"));
        using var png = SKBitmap.Decode(dir.Combine("similarity.png"));
        Assert.Equal(Math.Clamp(200 + 14 * 1000, 500, 2400), png.Width);
    }

    [Fact]
    public void Uncertainty_measures_rank_crafted_rows()
    {
        float[] sure = [0.97f, 0.02f, 0.01f], split = [0.5f, 0.49f, 0.01f], flat = [0.34f, 0.33f, 0.33f], twoWay = [0.6f, 0.2f, 0.2f];
        foreach (var measure in Enum.GetValues<UncertaintyMeasure>())
        {
            Assert.True(UncertaintySampling.Score(flat, measure) > UncertaintySampling.Score(sure, measure));
            Assert.True(UncertaintySampling.Score(split, measure) > UncertaintySampling.Score(sure, measure));
        }
        // Where they disagree: margin prefers the near-tie, least confidence the lower top probability.
        Assert.True(UncertaintySampling.Score(split, UncertaintyMeasure.Margin) > UncertaintySampling.Score(twoWay, UncertaintyMeasure.Margin));
        Assert.True(UncertaintySampling.Score(twoWay, UncertaintyMeasure.LeastConfidence) < UncertaintySampling.Score(split, UncertaintyMeasure.LeastConfidence));
        Assert.Equal(-(0.34 * Math.Log(0.34) + 2 * 0.33 * Math.Log(0.33)), UncertaintySampling.Score(flat, UncertaintyMeasure.Entropy), 5);
        Assert.Equal([2, 1], UncertaintySampling.MostUncertain([sure, split, flat], 2, UncertaintyMeasure.Entropy));
    }

    [Fact]
    public void Active_learning_loop_runs_rounds_and_never_queries_an_image_twice()
    {
        var random = new Random(2);
        // Three Gaussian blobs in 8-d: easy classes, with overlap so uncertainty matters.
        float[] Point(int c) => [.. Enumerable.Range(0, 8).Select(d => (float)((d == c ? 2.0 : 0) + random.NextDouble() * 1.5))];
        var poolLabels = Enumerable.Range(0, 300).Select(i => i % 3).ToArray();
        var pool = poolLabels.Select(Point).ToList();
        var testLabels = Enumerable.Range(0, 150).Select(i => i % 3).ToArray();
        var test = testLabels.Select(Point).ToList();
        var rounds = ActiveLearning.Run(pool, poolLabels, test, testLabels, new ActiveLearningOptions { InitialPerClass = 2, QueryPerRound = 10, Rounds = 4 });
        Assert.Equal(5, rounds.Count);
        Assert.Equal([6, 16, 26, 36, 46], rounds.Select(r => r.Labeled));
        var queried = rounds.SelectMany(r => r.Queried).ToList();
        Assert.Equal(40, queried.Count);
        Assert.Equal(queried.Count, queried.Distinct().Count());
        Assert.True(rounds[^1].UncertaintyAccuracy > 0.6, $"final accuracy {rounds[^1].UncertaintyAccuracy}");
        using var dir = new TempDir();
        ActiveLearning.SaveCsv(rounds, dir.Combine("rounds.csv"));
        ActiveLearning.SaveCurve(rounds, dir.Combine("curve.png"));
        Assert.Equal(6, File.ReadAllLines(dir.Combine("rounds.csv")).Length);
        using var png = SKBitmap.Decode(dir.Combine("curve.png"));
        Assert.Equal((800, 500), (png.Width, png.Height));
    }
}
