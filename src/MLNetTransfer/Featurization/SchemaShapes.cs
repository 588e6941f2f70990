using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Helpers for <see cref="IEstimator{T}.GetOutputSchema"/> in code outside ML.NET, where
/// <see cref="SchemaShape.Column"/>'s constructor and <c>SchemaShape.Create</c> are internal: the constructor is
/// reached by reflection (ML.NET 6.0.0 is pinned; a change there fails loudly here, not silently).
/// </summary>
internal static class SchemaShapes
{
    private static readonly ConstructorInfo ColumnConstructor =
        typeof(SchemaShape.Column).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance,
            [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)])
        ?? throw new MissingMethodException("ML.NET's SchemaShape.Column constructor changed; this MLNetTransfer build needs Microsoft.ML 6.0.x.");

    /// <summary>A schema-shape column.</summary>
    public static SchemaShape.Column Column(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey = false,
        SchemaShape? annotations = null) =>
        (SchemaShape.Column)ColumnConstructor.Invoke([name, kind, itemType, isKey, annotations]);

    /// <summary>Input columns plus (replacing a same-named one) a known-size float vector column.</summary>
    public static SchemaShape WithFloatVector(SchemaShape input, string name, int size) =>
        new(input.Where(c => c.Name != name).Append(Column(name, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single)));

    /// <summary>
    /// Input columns plus (replacing same-named ones) what ML.NET's multiclass trainers declare: a float vector
    /// <paramref name="score"/> whose slots are named after the label's key values, and a key
    /// <paramref name="predictedLabel"/> carrying those key values (MapKeyToValue needs them).
    /// </summary>
    public static SchemaShape WithMulticlassOutputs(SchemaShape input, SchemaShape.Column label, string score, string predictedLabel)
    {
        var keyValues = label.Annotations.Where(a => a.Name == "KeyValues").ToArray();
        var slotNames = keyValues.Length > 0 ? new[] { Column("SlotNames", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance) } : [];
        return new(input.Where(c => c.Name != score && c.Name != predictedLabel)
            .Append(Column(score, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, annotations: new SchemaShape(slotNames)))
            .Append(Column(predictedLabel, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true, new SchemaShape(keyValues))));
    }

    /// <summary>The column with that name, or null.</summary>
    public static SchemaShape.Column? Find(SchemaShape input, string name) =>
        input.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();

    /// <summary>
    /// Validates an image column: scalar text (a path) or a vector of bytes (an encoded image). Returns true for bytes.
    /// </summary>
    public static bool RequireImage(SchemaShape input, string column)
    {
        if (Find(input, column) is { ItemType: var t, Kind: not SchemaShape.Column.VectorKind.Scalar } && t == NumberDataViewType.Byte) return true;
        RequireText(input, column, "Image");
        return false;
    }

    /// <summary>Throws ML.NET's style of schema-mismatch error unless the column exists and is scalar text.</summary>
    public static void RequireText(SchemaShape input, string column, string role)
    {
        if (Find(input, column) is not { } col)
            throw new ArgumentOutOfRangeException(nameof(input), $"{role} column '{column}' not found in the input schema (columns: {string.Join(", ", input.Select(c => c.Name))}).");
        if (col.Kind != SchemaShape.Column.VectorKind.Scalar || col.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(input), $"Schema mismatch for {role.ToLowerInvariant()} column '{column}': expected String (image path) or Vector<Byte> (encoded image), got {col.ItemType}{(col.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
    }

    private static DataViewType ColumnTypeOf(Type raw) =>
        raw == typeof(byte) ? NumberDataViewType.Byte : raw == typeof(ushort) ? NumberDataViewType.UInt16
        : raw == typeof(ulong) ? NumberDataViewType.UInt64 : NumberDataViewType.UInt32;

    /// <summary>The shape of a concrete schema (what ML.NET's internal SchemaShape.Create does, for plain columns and their annotations).</summary>
    public static SchemaShape FromSchema(DataViewSchema schema) =>
        new(schema.Where(c => !c.IsHidden).Select(c => Shape(c.Name, c.Type, new SchemaShape(c.Annotations.Schema.Select(a => Shape(a.Name, a.Type, null))))));

    private static SchemaShape.Column Shape(string name, DataViewType type, SchemaShape? annotations)
    {
        var kind = type is VectorDataViewType v ? (v.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector)
            : SchemaShape.Column.VectorKind.Scalar;
        var item = type is VectorDataViewType vt ? vt.ItemType : type;
        // Shapes describe a key column by its raw integer type plus the key flag.
        return item is KeyDataViewType key
            ? Column(name, kind, ColumnTypeOf(key.RawType), isKey: true, annotations)
            : Column(name, kind, item, annotations: annotations);
    }
}
