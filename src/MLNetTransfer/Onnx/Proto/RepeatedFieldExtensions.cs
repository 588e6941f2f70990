using Google.Protobuf.Collections;

namespace MLNetTransfer.Onnx.Proto;

/// <summary>The <see cref="List{T}"/> edits graph rewrites use, on the generated classes' repeated fields.</summary>
internal static class RepeatedFieldExtensions
{
    /// <summary>Removes every element matching <paramref name="match"/>, keeping the order of the rest; returns how many.</summary>
    public static int RemoveAll<T>(this RepeatedField<T> field, Predicate<T> match)
    {
        var kept = field.Where(x => !match(x)).ToList();
        int removed = field.Count - kept.Count;
        if (removed == 0) return 0;
        field.Clear();
        field.AddRange(kept);
        return removed;
    }

    /// <summary>Inserts <paramref name="items"/> at <paramref name="index"/>, in order.</summary>
    public static void InsertRange<T>(this RepeatedField<T> field, int index, IEnumerable<T> items)
    {
        foreach (var item in items) field.Insert(index++, item);
    }

    /// <summary>Removes <paramref name="count"/> elements from <paramref name="index"/>.</summary>
    public static void RemoveRange<T>(this RepeatedField<T> field, int index, int count)
    {
        for (int i = 0; i < count; i++) field.RemoveAt(index);
    }

    /// <summary>The index of the first element matching <paramref name="match"/>, or -1.</summary>
    public static int FindIndex<T>(this RepeatedField<T> field, Predicate<T> match)
    {
        for (int i = 0; i < field.Count; i++)
            if (match(field[i])) return i;
        return -1;
    }
}
