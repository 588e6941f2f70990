using MLNetTransfer.Data;

namespace MLNetTransfer.Cli.Commands;

/// <summary>Loads train/test listings from folders (test defaults to a 20% stratified split), reporting skips.</summary>
internal static class TrainingData
{
    public static (IReadOnlyList<LabeledImage> Train, IReadOnlyList<LabeledImage> Test) Load(string trainDir, string? testDir, int? perClass, int? perClassTest, int seed)
    {
        var train = Scan(trainDir, perClass, seed);
        if (testDir is not null)
        {
            var test = Scan(testDir, perClassTest ?? perClass, seed);
            var known = train.Select(i => i.Label).ToHashSet(StringComparer.Ordinal);
            var unseen = test.Select(i => i.Label).Where(l => !known.Contains(l)).Distinct().Order(StringComparer.Ordinal).ToList();
            if (unseen.Count > 0)
                throw new BadInputException($"{testDir}: test class(es) {string.Join(", ", unseen)} not in the training classes ({string.Join(", ", known.Order(StringComparer.Ordinal))}); " +
                    "a classifier cannot predict a class it never saw: add training images or remove the folder.");
            return (train, test);
        }
        var split = Stratified.Split(train, i => i.Label, 0.2, seed);
        return (split.Train, split.Validation);
    }

    /// <summary>
    /// Scans a folder-per-class tree (or, with <paramref name="allowUnlabeled"/>, a flat folder of images whose labels are
    /// empty), printing each skipped file and warning on stderr.
    /// </summary>
    public static IReadOnlyList<LabeledImage> Scan(string dir, int? perClass, int seed, bool allowUnlabeled = false)
    {
        var listing = ImageFolder.Scan(dir, new ImageFolderOptions { MaxPerClass = perClass, Seed = seed, AllowUnlabeled = allowUnlabeled });
        foreach (var skipped in listing.Skipped) Console.Error.WriteLine($"skipped: {skipped.Path}: {skipped.Reason}");
        foreach (var warning in listing.Warnings) Console.Error.WriteLine($"warning: {warning}");
        return listing.Images;
    }
}
