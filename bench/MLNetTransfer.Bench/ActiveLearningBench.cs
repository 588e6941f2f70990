using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Insight;

namespace MLNetTransfer.Bench;

/// <summary>Uncertainty vs random sampling on MobileNetV2 embeddings of CIFAR-10, mean of 3 seeds.</summary>
internal static class ActiveLearningBench
{
    public static void Run(string assets, bool quick)
    {
        var pool = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/train"), new ImageFolderOptions { MaxPerClass = quick ? 200 : 1000, Seed = 1, ValidateImages = false }).Images;
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = quick ? 50 : 200, Seed = 1, ValidateImages = false }).Images;
        var featurizer = new ImageFeaturizer(new FeaturizeImageOptions
        {
            Assets = new AssetResolver(assets), CacheFolder = Path.Combine(Path.GetTempPath(), "mlnettransfer-bench-cache"),
        });
        var classes = pool.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToList();
        var poolX = featurizer.Featurize(pool.Select(i => i.Path)).ToList();
        var testX = featurizer.Featurize(test.Select(i => i.Path)).ToList();
        int[] poolY = [.. pool.Select(i => classes.IndexOf(i.Label))], testY = [.. test.Select(i => classes.IndexOf(i.Label))];
        var variants = new (string Name, UncertaintyMeasure Measure, int Diversity)[]
        {
            ("entropy", UncertaintyMeasure.Entropy, 1),
            ("margin", UncertaintyMeasure.Margin, 1),
            ("margin, diverse ×10", UncertaintyMeasure.Margin, 10),
            ("entropy, diverse ×10", UncertaintyMeasure.Entropy, 10),
        };
        var results = variants.Select(v => new[] { 1, 2, 3 }.Select(seed => ActiveLearning.Run(poolX, poolY, testX, testY,
            new ActiveLearningOptions { InitialPerClass = 5, QueryPerRound = 50, Rounds = 10, Measure = v.Measure, DiversityFactor = v.Diversity, Seed = seed })).ToList()).ToList();
        var first = results[0];
        Console.WriteLine($"pool {pool.Count}, test {test.Count}; 5 labels/class to start, 50 per round; mean of 3 seeds");
        Console.WriteLine($"| labelled | random | {string.Join(" | ", variants.Select(v => v.Name))} |");
        Console.WriteLine($"|---|---|{string.Concat(variants.Select(_ => "---|"))}");
        for (int r = 0; r < first[0].Count; r++)
            Console.WriteLine($"| {first[0][r].Labeled} | {first.Average(x => x[r].RandomAccuracy):F4} | {string.Join(" | ", results.Select(runs => runs.Average(x => x[r].UncertaintyAccuracy).ToString("F4")))} |");
        double randomFinal = first.Average(x => x[^1].RandomAccuracy);
        for (int v = 0; v < variants.Length; v++)
        {
            var runs = results[v];
            var reach = Enumerable.Range(0, runs[0].Count).FirstOrDefault(r => runs.Average(x => x[r].UncertaintyAccuracy) >= randomFinal, -1);
            Console.WriteLine(reach < 0 ? $"{variants[v].Name}: did not reach random sampling's final accuracy ({randomFinal:F4})"
                : $"{variants[v].Name}: reaches random's final accuracy ({randomFinal:F4}) with {runs[0][reach].Labeled} labels instead of {runs[0][^1].Labeled}");
        }
    }
}
