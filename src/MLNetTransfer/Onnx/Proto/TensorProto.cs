using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Onnx.Proto;

// Hand-written additions to the classes generated from Onnx/onnx.proto.

internal sealed partial class TensorProto
{
    /// <summary>The element type as an enum.</summary>
    public OnnxDataType ElementType => (OnnxDataType)DataType;

    /// <summary>Whether the data is in a separate file (data_location EXTERNAL).</summary>
    public bool IsExternal => DataLocation == Types.DataLocation.External;

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
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.Uint32 => 4,
        OnnxDataType.Uint8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.Uint16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.Bfloat16 => 2,
        OnnxDataType.Int64 or OnnxDataType.Double or OnnxDataType.Uint64 => 8,
        _ => 0,
    };

    /// <summary>Checks that the data present matches the declared shape (before anything is allocated from dims).</summary>
    public void Validate(string source)
    {
        long count;
        try { count = ElementCount; }
        catch (OverflowException) { throw new OnnxFormatException($"{source}: tensor '{Name}' declares dims {string.Join("x", Dims)} whose product overflows."); }
        catch (OnnxFormatException ex) { throw new OnnxFormatException($"{source}: {ex.Message}"); }
        if (IsExternal) return; // checked when external data is loaded
        long present = HasRawData ? RawData.Length
            : ElementType switch
            {
                OnnxDataType.Float => FloatData.Count * 4L,
                OnnxDataType.Int64 => Int64Data.Count * 8L,
                OnnxDataType.Double => DoubleData.Count * 8L,
                OnnxDataType.Uint64 or OnnxDataType.Uint32 => Uint64Data.Count * (long)ElementSize(ElementType),
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
            return HasRawData ? MemoryMarshal.Cast<byte, float>(RawData.Span).ToArray() : [.. FloatData];
        if (ElementType == OnnxDataType.Double)
            return HasRawData ? [.. MemoryMarshal.Cast<byte, double>(RawData.Span).ToArray().Select(d => (float)d)] : [.. DoubleData.Select(d => (float)d)];
        return [.. ToInt64Array().Select(v => (float)v)];
    }

    /// <summary>Values as int64 (integer types widened).</summary>
    public long[] ToInt64Array()
    {
        var raw = HasRawData ? RawData.Span : default;
        bool r = HasRawData;
        switch (ElementType)
        {
            case OnnxDataType.Int64: return r ? MemoryMarshal.Cast<byte, long>(raw).ToArray() : [.. Int64Data];
            case OnnxDataType.Int32: return r ? Widen(MemoryMarshal.Cast<byte, int>(raw), v => v) : [.. Int32Data.Select(v => (long)v)];
            case OnnxDataType.Uint8: case OnnxDataType.Bool: return r ? Widen(raw, v => v) : [.. Int32Data.Select(v => (long)(byte)v)];
            case OnnxDataType.Int8: return r ? Widen(MemoryMarshal.Cast<byte, sbyte>(raw), v => v) : [.. Int32Data.Select(v => (long)(sbyte)v)];
            case OnnxDataType.Int16: return r ? Widen(MemoryMarshal.Cast<byte, short>(raw), v => v) : [.. Int32Data.Select(v => (long)(short)v)];
            case OnnxDataType.Uint16: return r ? Widen(MemoryMarshal.Cast<byte, ushort>(raw), v => v) : [.. Int32Data.Select(v => (long)(ushort)v)];
            case OnnxDataType.Uint32: return r ? Widen(MemoryMarshal.Cast<byte, uint>(raw), v => v) : [.. Uint64Data.Select(v => (long)v)];
            case OnnxDataType.Float: case OnnxDataType.Double: return [.. ToFloatArray().Select(f => (long)f)];
            default: throw new NotSupportedException($"tensor '{Name}': element type {ElementType} cannot be read as numbers.");
        }
    }

    private static long[] Widen<T>(ReadOnlySpan<T> values, Func<T, long> widen)
    {
        var result = new long[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = widen(values[i]);
        return result;
    }

    /// <summary>A float32 tensor stored as raw data.</summary>
    public static TensorProto FromFloats(string name, long[] dims, ReadOnlySpan<float> values) =>
        FromRaw(name, OnnxDataType.Float, dims, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>An int64 tensor stored as raw data.</summary>
    public static TensorProto FromInt64s(string name, long[] dims, ReadOnlySpan<long> values) =>
        FromRaw(name, OnnxDataType.Int64, dims, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A tensor from raw little-endian bytes; the tensor takes ownership of <paramref name="raw"/> (no copy).</summary>
    public static TensorProto FromRaw(string name, OnnxDataType type, long[] dims, byte[] raw)
    {
        var t = new TensorProto { DataType = (int)type, Name = name, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        t.Dims.AddRange(dims);
        return t;
    }
}
