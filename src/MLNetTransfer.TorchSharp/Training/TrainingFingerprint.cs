using System.Globalization;
using System.Reflection;
using MLNetTransfer.Backbones;

namespace MLNetTransfer.Training;

/// <summary>Marks an option that does not change what training computes (a column name, a callback, a folder).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DoesNotChangeTrainingAttribute : Attribute;

/// <summary>
/// The settings that decide a training run, as name → value text: every public property of
/// <see cref="TransferLearningOptions"/> except those marked <see cref="DoesNotChangeTrainingAttribute"/>, plus the data
/// and the starting weights. Taken from the options type itself so that an option added later is part of it without
/// anyone remembering to list it. A checkpoint is resumed only when all of them are equal.
/// </summary>
internal static class TrainingFingerprint
{
    private static readonly PropertyInfo[] Settings = [.. typeof(TransferLearningOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanRead && p.GetCustomAttribute<DoesNotChangeTrainingAttribute>() is null)
        .OrderBy(p => p.Name, StringComparer.Ordinal)];

    /// <summary>The option properties that take part (for tests and messages).</summary>
    public static IReadOnlyList<PropertyInfo> Properties => Settings;

    public static SortedDictionary<string, string> Of(TransferLearningOptions options, string data, string startingWeights)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["(data)"] = data, ["(starting weights)"] = startingWeights };
        foreach (var p in Settings) values[p.Name] = Describe(p.GetValue(options));
        return values;
    }

    /// <summary>"A: x → y; B: ..." for the settings that differ, or null when none do.</summary>
    public static string? Differences(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> now)
    {
        var changed = before.Keys.Union(now.Keys).Order(StringComparer.Ordinal)
            .Where(k => !before.TryGetValue(k, out var a) || !now.TryGetValue(k, out var b) || a != b)
            .Select(k => $"{k}: {before.GetValueOrDefault(k, "(absent)")} → {now.GetValueOrDefault(k, "(absent)")}")
            .ToList();
        return changed.Count == 0 ? null : string.Join("; ", changed);
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        BackboneInfo b => b.CacheKey,
        Microsoft.ML.IDataView view => $"data view of {view.GetRowCount()?.ToString(CultureInfo.InvariantCulture) ?? "?"} rows ({string.Join(",", view.Schema.Select(c => c.Name))})",
        Delegate => throw new InvalidOperationException(
            $"A callback option of {nameof(TransferLearningOptions)} must be marked [{nameof(DoesNotChangeTrainingAttribute)}]."),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        // Records (schedules) and EarlyStopping describe their configuration in ToString.
        _ => value.ToString() ?? "",
    };
}
