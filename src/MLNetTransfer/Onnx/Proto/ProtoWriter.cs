using Google.Protobuf;

namespace MLNetTransfer.Onnx.Proto;

/// <summary>
/// Writes protobuf fields with Google.Protobuf's <see cref="CodedOutputStream"/>. Nested messages are serialized to a
/// buffer first so their length prefix is known. Fields are written in field-number order with unknown fields last,
/// which is what protoc's serializers do, so a file written by ONNX's tools round-trips byte for byte.
/// </summary>
internal sealed class ProtoWriter : IDisposable
{
    private readonly MemoryStream stream = new();
    private readonly CodedOutputStream output;

    public ProtoWriter() => output = new CodedOutputStream(stream, leaveOpen: true);

    public void Int64(int field, long? value)
    {
        if (value is not long v) return;
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(v);
    }

    public void Int32(int field, int? value)
    {
        if (value is not int v) return;
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt32(v);
    }

    public void Float(int field, float? value)
    {
        if (value is not float v) return;
        output.WriteTag(field, WireFormat.WireType.Fixed32);
        output.WriteFloat(v);
    }

    public void String(int field, string? value)
    {
        if (value is null) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    public void Bytes(int field, byte[]? value)
    {
        if (value is null) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(value));
    }

    public void Strings(int field, IEnumerable<string> values)
    {
        foreach (var v in values) String(field, v);
    }

    public void BytesList(int field, IEnumerable<byte[]> values)
    {
        foreach (var v in values) Bytes(field, v);
    }

    public void Message<T>(int field, T? message) where T : class, IProtoMessage
    {
        if (message is null) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(message.ToByteArray()));
    }

    public void Messages<T>(int field, IEnumerable<T> messages) where T : class, IProtoMessage
    {
        foreach (var m in messages) Message(field, m);
    }

    public void Int64s(int field, IReadOnlyList<long> values, bool packed)
    {
        if (values.Count == 0) return;
        if (!packed) { foreach (var v in values) Int64(field, v); return; }
        int size = 0;
        foreach (var v in values) size += CodedOutputStream.ComputeInt64Size(v);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(size);
        foreach (var v in values) output.WriteInt64(v);
    }

    public void Int32s(int field, IReadOnlyList<int> values, bool packed)
    {
        if (values.Count == 0) return;
        if (!packed) { foreach (var v in values) Int32(field, v); return; }
        int size = 0;
        foreach (var v in values) size += CodedOutputStream.ComputeInt32Size(v);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(size);
        foreach (var v in values) output.WriteInt32(v);
    }

    public void UInt64s(int field, IReadOnlyList<ulong> values, bool packed)
    {
        if (values.Count == 0) return;
        if (!packed)
        {
            foreach (var v in values) { output.WriteTag(field, WireFormat.WireType.Varint); output.WriteUInt64(v); }
            return;
        }
        int size = 0;
        foreach (var v in values) size += CodedOutputStream.ComputeUInt64Size(v);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(size);
        foreach (var v in values) output.WriteUInt64(v);
    }

    public void Floats(int field, IReadOnlyList<float> values, bool packed)
    {
        if (values.Count == 0) return;
        if (!packed) { foreach (var v in values) Float(field, v); return; }
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(values.Count * 4);
        foreach (var v in values) output.WriteFloat(v);
    }

    public void Doubles(int field, IReadOnlyList<double> values, bool packed)
    {
        if (values.Count == 0) return;
        if (!packed)
        {
            foreach (var v in values) { output.WriteTag(field, WireFormat.WireType.Fixed64); output.WriteDouble(v); }
            return;
        }
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(values.Count * 8);
        foreach (var v in values) output.WriteDouble(v);
    }

    public void Raw(IEnumerable<byte[]> unknownFields)
    {
        // Raw bytes bypass CodedOutputStream (its raw writer is internal): flush it, then append to the stream.
        output.Flush();
        foreach (var raw in unknownFields) stream.Write(raw);
    }

    public byte[] ToArray()
    {
        output.Flush();
        return stream.ToArray();
    }

    public void Dispose()
    {
        output.Dispose();
        stream.Dispose();
    }
}

/// <summary>A message that can serialize itself.</summary>
internal interface IProtoMessage
{
    byte[] ToByteArray();
}
