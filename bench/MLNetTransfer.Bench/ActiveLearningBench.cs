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
        var runs = new[] { 1, 2, 3 }.Select(seed => ActiveLearning.Run(poolX, poolY, testX, testY,
            new ActiveLearningOptions { InitialPerClass = 5, QueryPerRound = 50, Rounds = 10, Measure = UncertaintyMeasure.Entropy, Seed = seed })).ToList();
        Console.WriteLine($"pool {pool.Count}, test {test.Count}; entropy sampling, 5 labels/class to start, 50 per round; mean of 3 seeds");
        Console.WriteLine("| labelled | uncertainty | random |");
        Console.WriteLine("|---|---|---|");
        for (int r = 0; r < runs[0].Count; r++)
            Console.WriteLine($"| {runs[0][r].Labeled} | {runs.Average(x => x[r].UncertaintyAccuracy):F4} | {runs.Average(x => x[r].RandomAccuracy):F4} |");
        double randomFinal = runs.Average(x => x[^1].RandomAccuracy);
        var reach = Enumerable.Range(0, runs[0].Count).FirstOrDefault(r => runs.Average(x => x[r].UncertaintyAccuracy) >= randomFinal, -1);
        Console.WriteLine(reach < 0 ? "uncertainty sampling did not reach random sampling's final accuracy"
            : $"uncertainty sampling reaches random's final accuracy ({randomFinal:F4}) with {runs[0][reach].Labeled} labels instead of {runs[0][^1].Labeled}: {runs[0][^1].Labeled - runs[0][reach].Labeled} labels saved");
    }
}
