using System.Runtime.InteropServices;

namespace MLNetTransfer.Onnx.Proto;

/// <summary>ONNX element types (TensorProto.DataType numbers).</summary>
public enum OnnxDataType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>float32.</summary>
    Float = 1,
    /// <summary>uint8.</summary>
    UInt8 = 2,
    /// <summary>int8.</summary>
    Int8 = 3,
    /// <summary>uint16.</summary>
    UInt16 = 4,
    /// <summary>int16.</summary>
    Int16 = 5,
    /// <summary>int32.</summary>
    Int32 = 6,
    /// <summary>int64.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string.</summary>
    String = 8,
    /// <summary>bool.</summary>
    Bool = 9,
    /// <summary>float16.</summary>
    Float16 = 10,
    /// <summary>float64.</summary>
    Double = 11,
    /// <summary>uint32.</summary>
    UInt32 = 12,
    /// <summary>uint64.</summary>
    UInt64 = 13,
    /// <summary>bfloat16.</summary>
    BFloat16 = 16,
}

/// <summary>ONNX TensorProto: a named constant (initializer or attribute value).</summary>
public sealed class TensorProto : IProtoMessage
{
    /// <summary>Dimensions (field 1).</summary>
    public List<long> Dims { get; } = [];
    /// <summary>Element type (field 2).</summary>
    public int? DataType { get; set; }
    /// <summary>Float values when not in <see cref="RawData"/> (field 4, packed).</summary>
    public List<float> FloatData { get; } = [];
    /// <summary>int32/int16/int8/uint16/uint8/bool/float16 values (field 5, packed).</summary>
    public List<int> Int32Data { get; } = [];
    /// <summary>String values (field 6).</summary>
    public List<byte[]> StringData { get; } = [];
    /// <summary>int64 values (field 7, packed).</summary>
    public List<long> Int64Data { get; } = [];
    /// <summary>Name (field 8).</summary>
    public string? Name { get; set; }
    /// <summary>Little-endian raw bytes (field 9).</summary>
    public byte[]? RawData { get; set; }
    /// <summary>double values (field 10, packed).</summary>
    public List<double> DoubleData { get; } = [];
    /// <summary>uint64/uint32 values (field 11, packed).</summary>
    public List<ulong> UInt64Data { get; } = [];
    /// <summary>Doc string (field 12).</summary>
    public string? DocString { get; set; }
    /// <summary>External data entries: location, offset, length, checksum (field 13).</summary>
    public List<StringStringEntryProto> ExternalData { get; } = [];
    /// <summary>0 = in this file, 1 = external (field 14).</summary>
    public int? DataLocation { get; set; }
    internal List<byte[]> Unknown { get; } = [];
    private bool dimsPacked;

    /// <summary>The element type as an enum.</summary>
    public OnnxDataType ElementType => (OnnxDataType)(DataType ?? 0);

    /// <summary>Number of elements (product of dims; 1 for a scalar). Throws on negative dims or overflow.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims)
            {
                if (d < 0) throw new OnnxFormatException($"tensor '{Name}': negative dimension {d}.");
                n = checked(n * d);
            }
            return n;
        }
    }

    /// <summary>Bytes per element for fixed-size types, 0 for strings/unknown.</summary>
    public static int ElementSize(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.Int64 or OnnxDataType.Double or OnnxDataType.UInt64 => 8,
        _ => 0,
    };

    /// <summary>Checks that the data present matches the declared shape (before anything is allocated from dims).</summary>
    public void Validate(string source)
    {
        long count;
        try { count = ElementCount; }
        catch (OverflowException) { throw new OnnxFormatException($"{source}: tensor '{Name}' declares dims {string.Join("x", Dims)} whose product overflows."); }
        catch (OnnxFormatException ex) { throw new OnnxFormatException($"{source}: {ex.Message}"); }
        if (DataLocation == 1) return; // checked when external data is loaded
        long present = RawData is not null ? RawData.Length
            : ElementType switch
            {
                OnnxDataType.Float => FloatData.Count * 4L,
                OnnxDataType.Int64 => Int64Data.Count * 8L,
                OnnxDataType.Double => DoubleData.Count * 8L,
                OnnxDataType.UInt64 or OnnxDataType.UInt32 => UInt64Data.Count * (long)ElementSize(ElementType),
                OnnxDataType.String => -1,
                _ => Int32Data.Count * (long)ElementSize(ElementType),
            };
        int size = ElementSize(ElementType);
        if (present >= 0 && size > 0 && present != count * size)
            throw new OnnxFormatException($"{source}: tensor '{Name}' declares {string.Join("x", Dims)} {ElementType} ({count * size} bytes) but holds {present} bytes.");
    }

    /// <summary>Values as float32 (float, double, integer types converted).</summary>
    public float[] ToFloatArray()
    {
        if (ElementType == OnnxDataType.Float)
            return RawData is not null ? MemoryMarshal.Cast<byte, float>(RawData).ToArray() : [.. FloatData];
        if (ElementType == OnnxDataType.Double)
            return RawData is not null ? [.. MemoryMarshal.Cast<byte, double>(RawData).ToArray().Select(d => (float)d)] : [.. DoubleData.Select(d => (float)d)];
        return [.. ToInt64Array().Select(v => (float)v)];
    }

    /// <summary>Values as int64 (integer types widened).</summary>
    public long[] ToInt64Array()
    {
        var raw = RawData;
        switch (ElementType)
        {
            case OnnxDataType.Int64: return raw is not null ? MemoryMarshal.Cast<byte, long>(raw).ToArray() : [.. Int64Data];
            case OnnxDataType.Int32: return raw is not null ? [.. MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v)] : [.. Int32Data.Select(v => (long)v)];
            case OnnxDataType.UInt8: case OnnxDataType.Bool: return raw is not null ? [.. raw.Select(v => (long)v)] : [.. Int32Data.Select(v => (long)(byte)v)];
            case OnnxDataType.Int8: return raw is not null ? [.. raw.Select(v => (long)(sbyte)v)] : [.. Int32Data.Select(v => (long)(sbyte)v)];
            case OnnxDataType.Int16: return raw is not null ? [.. MemoryMarshal.Cast<byte, short>(raw).ToArray().Select(v => (long)v)] : [.. Int32Data.Select(v => (long)(short)v)];
            case OnnxDataType.UInt16: return raw is not null ? [.. MemoryMarshal.Cast<byte, ushort>(raw).ToArray().Select(v => (long)v)] : [.. Int32Data.Select(v => (long)(ushort)v)];
            case OnnxDataType.UInt32: return raw is not null ? [.. MemoryMarshal.Cast<byte, uint>(raw).ToArray().Select(v => (long)v)] : [.. UInt64Data.Select(v => (long)v)];
            case OnnxDataType.Float: case OnnxDataType.Double: return [.. ToFloatArray().Select(f => (long)f)];
            default: throw new NotSupportedException($"tensor '{Name}': element type {ElementType} cannot be read as numbers.");
        }
    }

    /// <summary>A float32 tensor stored as raw data.</summary>
    public static TensorProto FromFloats(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxDataType.Float, RawData = MemoryMarshal.AsBytes(values).ToArray() };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>An int64 tensor stored as raw data.</summary>
    public static TensorProto FromInt64s(string name, long[] dims, ReadOnlySpan<long> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxDataType.Int64, RawData = MemoryMarshal.AsBytes(values).ToArray() };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>A uint8/int8/... tensor from raw little-endian bytes.</summary>
    public static TensorProto FromRaw(string name, OnnxDataType type, long[] dims, byte[] raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = raw };
        t.Dims.AddRange(dims);
        return t;
    }

    internal static TensorProto Read(ProtoReader r)
    {
        var t = new TensorProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: t.dimsPacked = r.ReadRepeated(wire, t.Dims, x => x.ReadInt64(), 0); break;
                case 2: t.DataType = r.ReadInt32(); break;
                case 4: r.ReadRepeated(wire, t.FloatData, x => x.ReadFloat(), 5); break;
                case 5: r.ReadRepeated(wire, t.Int32Data, x => x.ReadInt32(), 0); break;
                case 6: t.StringData.Add(r.ReadBytes()); break;
                case 7: r.ReadRepeated(wire, t.Int64Data, x => x.ReadInt64(), 0); break;
                case 8: t.Name = r.ReadString(); break;
                case 9: t.RawData = r.ReadBytes(); break;
                case 10: r.ReadRepeated(wire, t.DoubleData, x => x.ReadDouble(), 1); break;
                case 11: r.ReadRepeated(wire, t.UInt64Data, x => x.ReadVarint(), 0); break;
                case 12: t.DocString = r.ReadString(); break;
                case 13: t.ExternalData.Add(StringStringEntryProto.Read(r.ReadMessage())); break;
                case 14: t.DataLocation = r.ReadInt32(); break;
                default: t.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return t;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.Int64s(1, Dims, dimsPacked);
        w.Int32(2, DataType);
        w.Floats(4, FloatData, packed: true);
        w.Int32s(5, Int32Data, packed: true);
        w.BytesList(6, StringData);
        w.Int64s(7, Int64Data, packed: true);
        w.String(8, Name);
        w.Bytes(9, RawData);
        w.Doubles(10, DoubleData, packed: true);
        w.UInt64s(11, UInt64Data, packed: true);
        w.String(12, DocString);
        w.Messages(13, ExternalData);
        w.Int32(14, DataLocation);
        w.Raw(Unknown);
        return w.ToArray();
    }
}

/// <summary>ONNX StringStringEntryProto: a key/value pair (metadata, external data).</summary>
public sealed class StringStringEntryProto : IProtoMessage
{
    /// <summary>Key (field 1).</summary>
    public string? Key { get; set; }
    /// <summary>Value (field 2).</summary>
    public string? Value { get; set; }
    internal List<byte[]> Unknown { get; } = [];

    internal static StringStringEntryProto Read(ProtoReader r)
    {
        var e = new StringStringEntryProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: e.Key = r.ReadString(); break;
                case 2: e.Value = r.ReadString(); break;
                default: e.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return e;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.String(1, Key);
        w.String(2, Value);
        w.Raw(Unknown);
        return w.ToArray();
    }
}
