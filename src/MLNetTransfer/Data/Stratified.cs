namespace MLNetTransfer.Data;

/// <summary>Deterministic, seeded sampling and splitting that keep class proportions (System.Random(seed) shuffles).</summary>
public static class Stratified
{
    /// <summary>At most <paramref name="perClass"/> items of each class, chosen at random; original order is kept.</summary>
    public static IReadOnlyList<T> Sample<T>(IReadOnlyList<T> items, Func<T, string> label, int perClass, int seed)
    {
        if (perClass < 1) throw new ArgumentOutOfRangeException(nameof(perClass), "perClass must be at least 1.");
        var keep = new HashSet<int>();
        foreach (var group in Groups(items, label))
            foreach (var i in Shuffled(group, seed, label(items[group[0]])).Take(perClass)) keep.Add(i);
        return [.. items.Where((_, i) => keep.Contains(i))];
    }

    /// <summary>
    /// Splits off a validation part of about <paramref name="validationFraction"/> of each class. Each class keeps at
    /// least one training item, and gets a validation item when it has two or more.
    /// </summary>
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> Validation) Split<T>(IReadOnlyList<T> items, Func<T, string> label,
        double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"validation fraction {validationFraction} must be in (0, 1).");
        var validation = new HashSet<int>();
        foreach (var group in Groups(items, label))
        {
            if (group.Count < 2) continue;
            int n = Math.Clamp((int)Math.Round(group.Count * validationFraction), 1, group.Count - 1);
            foreach (var i in Shuffled(group, seed, label(items[group[0]])).Take(n)) validation.Add(i);
        }
        return ([.. items.Where((_, i) => !validation.Contains(i))], [.. items.Where((_, i) => validation.Contains(i))]);
    }

    /// <summary>
    /// The <paramref name="index"/>-th of <paramref name="count"/> deterministic slices (every count-th item): shards are
    /// disjoint and together hold every item once, so n machines can each process one.
    /// </summary>
    public static IReadOnlyList<T> Shard<T>(IReadOnlyList<T> items, int index, int count)
    {
        if (count < 1 || index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), $"shard {index}/{count}: need 0 <= index < count.");
        return [.. items.Where((_, i) => i % count == index)];
    }

    private static IEnumerable<List<int>> Groups<T>(IReadOnlyList<T> items, Func<T, string> label) =>
        Enumerable.Range(0, items.Count).GroupBy(i => label(items[i]), StringComparer.Ordinal).Select(g => g.ToList());

    // The seed is mixed with the class name so classes are shuffled independently but reproducibly.
    private static IEnumerable<int> Shuffled(List<int> indices, int seed, string cls)
    {
        var random = new Random(unchecked(seed * 1_000_003 + StableHash(cls)));
        var copy = indices.ToArray();
        random.Shuffle(copy);
        return copy;
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
