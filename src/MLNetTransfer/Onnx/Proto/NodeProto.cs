using Google.Protobuf;

namespace MLNetTransfer.Onnx.Proto;

// Hand-written additions to the classes generated from Onnx/onnx.proto.

internal sealed partial class NodeProto
{
    /// <summary>"domain:op" ("Conv" for the default domain), for messages and histograms.</summary>
    public string QualifiedOp => Domain is "" or "ai.onnx" ? OpType : $"{Domain}:{OpType}";

    /// <summary>A readable label for errors: name or first output, and op.</summary>
    public string Label => $"{QualifiedOp} node '{(string.IsNullOrEmpty(Name) ? Output.FirstOrDefault() : Name)}'";

    /// <summary>The attribute with that name, or null.</summary>
    public AttributeProto? FindAttribute(string name) => Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>An int attribute, or <paramref name="fallback"/>.</summary>
    public long GetInt(string name, long fallback) => FindAttribute(name) is { HasI: true } a ? a.I : fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/>.</summary>
    public float GetFloat(string name, float fallback) => FindAttribute(name) is { HasF: true } a ? a.F : fallback;

    /// <summary>An ints attribute, or <paramref name="fallback"/> (null when absent and no fallback).</summary>
    public long[]? GetInts(string name, long[]? fallback = null) => FindAttribute(name) is { } a ? [.. a.Ints] : fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/>.</summary>
    public string? GetString(string name, string? fallback = null) => FindAttribute(name) is { HasS: true } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>Builds a node; a null name or domain stays absent from the file.</summary>
    public static NodeProto Create(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string? name = null,
        string? domain = null, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = opType };
        if (name is not null) n.Name = name;
        if (domain is not null) n.Domain = domain;
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        return n;
    }
}

internal sealed partial class AttributeProto
{
    /// <summary>An int attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, I = value, Type = Types.AttributeType.Int };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, F = value, Type = Types.AttributeType.Float };

    /// <summary>A string attribute.</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, S = ByteString.CopyFromUtf8(value), Type = Types.AttributeType.String };

    /// <summary>A tensor attribute.</summary>
    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, T = value, Type = Types.AttributeType.Tensor };

    /// <summary>An ints attribute.</summary>
    public static AttributeProto IntList(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A floats attribute.</summary>
    public static AttributeProto FloatList(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }
}
