namespace MLNetTransfer.Onnx.Proto;

/// <summary>
/// A bounds-checked protobuf wire-format reader over a byte array slice. Every length is checked against the bytes that
/// remain before anything is allocated, and nesting is limited, so truncated files and size bombs fail fast.
/// </summary>
internal sealed class ProtoReader
{
    public const int MaxDepth = 64;
    private readonly byte[] buffer;
    private readonly int end;
    private int position;
    private int lastWire = -1;

    public ProtoReader(byte[] buffer, int start, int end, string source, int depth = 0)
    {
        this.buffer = buffer;
        position = start;
        this.end = end;
        Source = source;
        Depth = depth;
        if (depth > MaxDepth) throw Error($"messages nested deeper than {MaxDepth}");
    }

    public string Source { get; }
    public int Depth { get; }
    public int Position => position;
    public bool AtEnd => position >= end;
    public byte[] Buffer => buffer;

    public OnnxFormatException Error(string reason) => new($"{Source}: not a valid ONNX model: {reason} (at byte {position}).");

    public (int Field, int WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        int field = (int)(tag >> 3);
        int wire = (int)(tag & 7);
        if (field <= 0 || tag >> 3 > int.MaxValue) throw Error($"invalid field number {tag >> 3}");
        if (wire is 3 or 4 or 6 or 7) throw Error($"unsupported wire type {wire}");
        lastWire = wire;
        return (field, wire);
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= end) throw Error("truncated varint");
            byte b = buffer[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw Error("varint longer than 10 bytes");
    }

    public long ReadInt64() => (long)ReadVarint();
    public int ReadInt32() => (int)(long)ReadVarint();

    public uint ReadFixed32()
    {
        Need(4);
        uint v = BitConverter.ToUInt32(buffer, position);
        position += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        Need(8);
        ulong v = BitConverter.ToUInt64(buffer, position);
        position += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());
    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>Reads a length prefix and returns the [start, end) of the payload, checked against what remains.</summary>
    public (int Start, int End) ReadLengthDelimited()
    {
        if (lastWire != 2) throw Error($"wire type {lastWire} where a length-delimited field was expected");
        ulong length = ReadVarint();
        if (length > (ulong)(end - position)) throw Error($"a field declares {length} bytes but only {end - position} remain (truncated file or size bomb)");
        int start = position;
        position += (int)length;
        return (start, position);
    }

    public byte[] ReadBytes()
    {
        var (s, e) = ReadLengthDelimited();
        return buffer.AsSpan(s, e - s).ToArray();
    }

    public string ReadString()
    {
        var (s, e) = ReadLengthDelimited();
        return System.Text.Encoding.UTF8.GetString(buffer, s, e - s);
    }

    public ProtoReader ReadMessage()
    {
        var (s, e) = ReadLengthDelimited();
        return new ProtoReader(buffer, s, e, Source, Depth + 1);
    }

    /// <summary>Skips the field whose tag was just read and returns its raw bytes (tag included) for round trips.</summary>
    public byte[] SkipField(int tagStart, int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Need(8); position += 8; break;
            case 2: ReadLengthDelimited(); break;
            case 5: Need(4); position += 4; break;
            default: throw Error($"unsupported wire type {wireType}");
        }
        return buffer.AsSpan(tagStart, position - tagStart).ToArray();
    }

    /// <summary>Reads a repeated scalar that may be packed (wire type 2) or not; returns whether it was packed.</summary>
    public bool ReadRepeated<T>(int wireType, List<T> into, Func<ProtoReader, T> readOne, int elementWireType)
    {
        if (wireType == 2)
        {
            var inner = ReadMessage();
            while (!inner.AtEnd) into.Add(readOne(inner));
            return true;
        }
        if (wireType != elementWireType) throw Error($"wire type {wireType} where {elementWireType} was expected");
        into.Add(readOne(this));
        return false;
    }

    private void Need(int n)
    {
        if (end - position < n) throw Error("truncated fixed-width value");
    }
}
