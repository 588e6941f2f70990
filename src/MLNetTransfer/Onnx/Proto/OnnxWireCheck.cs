using Google.Protobuf.Reflection;

namespace MLNetTransfer.Onnx.Proto;

/// <summary>
/// A pass over a file's protobuf wire format before the generated parser reads it, so hostile and truncated files fail
/// with a reason: every length is checked, as a full 64-bit varint, against the bytes that remain, and message nesting
/// is limited. The generated parser alone reads a length as its low 32 bits (a 2^40-byte size bomb reads as 0 and
/// the bytes after it as fields) and reports a truncated file without saying which length was wrong.
/// </summary>
internal static class OnnxWireCheck
{
    /// <summary>Deepest message nesting accepted (ONNX models nest graphs in attributes a few levels at most).</summary>
    public const int MaxDepth = 64;

    /// <summary>Checks <paramref name="bytes"/> as a <paramref name="type"/> message; throws an <see cref="OnnxFormatException"/> naming <paramref name="source"/>.</summary>
    public static void Check(byte[] bytes, MessageDescriptor type, string source)
    {
        int position = 0;
        Message(bytes, ref position, bytes.Length, type, 0, source);
    }

    private static void Message(byte[] buffer, ref int position, int end, MessageDescriptor? type, int depth, string source)
    {
        if (depth > MaxDepth) throw Error(source, position, $"messages nested deeper than {MaxDepth}");
        while (position < end)
        {
            ulong tag = Varint(buffer, ref position, end, source);
            ulong field = tag >> 3;
            int wire = (int)(tag & 7);
            // Past 2^29 - 1, the largest protobuf field number, the parser would read a different (truncated) tag.
            if (field == 0 || field > 536_870_911) throw Error(source, position, $"invalid field number {field}");
            switch (wire)
            {
                case 0: Varint(buffer, ref position, end, source); break;
                case 1: Skip(ref position, end, 8, source); break;
                case 5: Skip(ref position, end, 4, source); break;
                case 2:
                    ulong length = Varint(buffer, ref position, end, source);
                    if (length > (ulong)(end - position))
                        throw Error(source, position, $"a field declares {length} bytes but only {end - position} remain (truncated file or size bomb)");
                    int start = position;
                    position += (int)length;
                    // Fields this schema does not know are skipped unread, as the parser keeps them unread.
                    if (type?.FindFieldByNumber((int)field) is { FieldType: FieldType.Message } known)
                        Message(buffer, ref start, position, known.MessageType, depth + 1, source);
                    break;
                default: throw Error(source, position, $"unsupported wire type {wire}");
            }
        }
    }

    private static ulong Varint(byte[] buffer, ref int position, int end, string source)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= end) throw Error(source, position, "truncated varint");
            byte b = buffer[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw Error(source, position, "varint longer than 10 bytes");
    }

    private static void Skip(ref int position, int end, int count, string source)
    {
        if (end - position < count) throw Error(source, position, "truncated fixed-width value");
        position += count;
    }

    private static OnnxFormatException Error(string source, int position, string reason) =>
        new($"{source}: not a valid ONNX model: {reason} (at byte {position}).");
}
