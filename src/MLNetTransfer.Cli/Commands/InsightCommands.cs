using System.CommandLine;
using System.Globalization;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Insight;
using MLNetTransfer.IO;

namespace MLNetTransfer.Cli.Commands;

/// <summary><c>similar</c> and <c>active-learn</c>: insight from frozen backbone embeddings.</summary>
internal static class InsightCommands
{
    public static Command Similar()
    {
        var images = new Option<string>("--images") { Description = "Images: a folder of images, or one sub-folder per class", Required = true };
        var backbone = CommonOptions.Backbone();
        var featureNode = CommonOptions.FeatureNode();
        var maxPerClass = CommonOptions.MaxPerClass();
        var k = new Option<int>("--k") { Description = "Neighbours per image", DefaultValueFactory = _ => 5 };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var command = new Command("similar", "Cosine similarity of embeddings: similarity.png and neighbours.csv") { images, backbone, featureNode, maxPerClass, k, output };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            OutputLocation.RequireWritableFolder(result.GetValue(output)!, "--out");
            var listed = TrainingData.Scan(result.GetValue(images)!, result.GetValue(maxPerClass), 1, allowUnlabeled: true);
            var featurizer = new ImageFeaturizer(new FeaturizeImageOptions
            {
                Backbone = CommonOptions.ResolveBackbone(result, backbone, featureNode), Assets = CommonOptions.Resolver(result),
            });
            var embeddings = featurizer.Featurize(listed.Select(i => i.Path)).ToList();
            var matrix = EmbeddingSimilarity.CosineMatrix(embeddings, center: true);
            var neighbours = EmbeddingSimilarity.NearestNeighbors(matrix, result.GetValue(k));
            var outDir = result.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            EmbeddingSimilarity.SaveHeatmap(matrix, [.. listed.Select(i => i.Label)], Path.Combine(outDir, "similarity.png"));
            var csv = new CsvText("image", "label", "rank", "neighbour", "neighbour_label", "cosine");
            foreach (var row in neighbours)
                for (int r = 0; r < row.Count; r++)
                {
                    var (a, b) = (listed[row[r].Index], listed[row[r].Other]);
                    csv.Row(a.Path, a.Label, (r + 1).ToString(CultureInfo.InvariantCulture), b.Path, b.Label, row[r].Similarity.ToString("F4", CultureInfo.InvariantCulture));
                }
            AtomicFile.WriteAllText(Path.Combine(outDir, "neighbours.csv"), csv.ToString());
            bool labeled = listed.Any(i => i.Label != ImageFolder.Unlabeled);
            double same = neighbours.Select((n, i) => listed[n[0].Other].Label == listed[i].Label ? 1.0 : 0.0).Average();
            Console.WriteLine($"{embeddings.Count} images{(labeled ? $"; nearest neighbour shares the label for {same:P1}" : "")}; wrote {Path.GetFullPath(outDir)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command ActiveLearn()
    {
        var train = new Option<string>("--train") { Description = "Unlabelled pool (labels used only to answer queries)", Required = true };
        var test = new Option<string>("--test") { Description = "Test images, one folder per class", Required = true };
        var backbone = CommonOptions.Backbone();
        var featureNode = CommonOptions.FeatureNode();
        var maxPerClass = CommonOptions.MaxPerClass();
        var defaults = new ActiveLearningOptions();
        var rounds = new Option<int>("--rounds") { Description = "Query rounds", DefaultValueFactory = _ => defaults.Rounds };
        var query = new Option<int>("--query") { Description = "Images queried per round", DefaultValueFactory = _ => defaults.QueryPerRound };
        var initial = new Option<int>("--initial-per-class") { Description = "Labelled images per class at the start", DefaultValueFactory = _ => defaults.InitialPerClass };
        var measure = new Option<UncertaintyMeasure>("--measure") { Description = "LeastConfidence | Margin | Entropy", DefaultValueFactory = _ => defaults.Measure };
        var diversity = new Option<int>("--diversity") { Description = "Shortlist this many times --query most uncertain images and pick a spread-out batch (1 = plain uncertainty)", DefaultValueFactory = _ => defaults.DiversityFactor };
        var seed = CommonOptions.Seed();
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var command = new Command("active-learn", "Uncertainty vs random sampling on frozen embeddings: rounds.csv and curve.png")
        {
            train, test, backbone, featureNode, maxPerClass, rounds, query, initial, measure, diversity, seed, output,
        };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            OutputLocation.RequireWritableFolder(result.GetValue(output)!, "--out");
            if (result.GetValue(diversity) < 1) throw new BadInputException($"--diversity {result.GetValue(diversity)}: must be at least 1.");
            var pool = TrainingData.Scan(result.GetValue(train)!, result.GetValue(maxPerClass), result.GetValue(seed));
            var testSet = TrainingData.Scan(result.GetValue(test)!, result.GetValue(maxPerClass), result.GetValue(seed));
            var classes = pool.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToList();
            var unknown = testSet.Where(t => !classes.Contains(t.Label)).Select(t => t.Label).Distinct().ToList();
            if (unknown.Count > 0) throw new BadInputException($"{result.GetValue(test)}: test classes absent from the pool: {string.Join(", ", unknown)}.");
            var featurizer = new ImageFeaturizer(new FeaturizeImageOptions
            {
                Backbone = CommonOptions.ResolveBackbone(result, backbone, featureNode), Assets = CommonOptions.Resolver(result),
            });
            var poolX = featurizer.Featurize(pool.Select(i => i.Path)).ToList();
            var testX = featurizer.Featurize(testSet.Select(i => i.Path)).ToList();
            var history = ActiveLearning.Run(poolX, [.. pool.Select(i => classes.IndexOf(i.Label))], testX, [.. testSet.Select(i => classes.IndexOf(i.Label))],
                new ActiveLearningOptions
                {
                    Rounds = result.GetValue(rounds), QueryPerRound = result.GetValue(query), InitialPerClass = result.GetValue(initial),
                    Measure = result.GetValue(measure), DiversityFactor = result.GetValue(diversity), Seed = result.GetValue(seed),
                });
            var outDir = result.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            ActiveLearning.SaveCsv(history, Path.Combine(outDir, "rounds.csv"));
            ActiveLearning.SaveCurve(history, Path.Combine(outDir, "curve.png"));
            foreach (var r in history) Console.WriteLine($"round {r.Round}: {r.Labeled} labels  uncertainty {r.UncertaintyAccuracy:F4}  random {r.RandomAccuracy:F4}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
