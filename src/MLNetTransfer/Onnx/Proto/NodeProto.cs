namespace MLNetTransfer.Onnx.Proto;

/// <summary>ONNX NodeProto: one operator application.</summary>
public sealed class NodeProto : IProtoMessage
{
    /// <summary>Input tensor names; "" marks an omitted optional input (field 1).</summary>
    public List<string> Inputs { get; } = [];
    /// <summary>Output tensor names (field 2).</summary>
    public List<string> Outputs { get; } = [];
    /// <summary>Node name (field 3).</summary>
    public string? Name { get; set; }
    /// <summary>Operator type, e.g. Conv (field 4).</summary>
    public string? OpType { get; set; }
    /// <summary>Attributes (field 5).</summary>
    public List<AttributeProto> Attributes { get; } = [];
    /// <summary>Doc string (field 6).</summary>
    public string? DocString { get; set; }
    /// <summary>Operator domain; null or "" is the default ONNX domain (field 7).</summary>
    public string? Domain { get; set; }
    internal List<byte[]> Unknown { get; } = [];

    /// <summary>"domain:op" ("Conv" for the default domain), for messages and histograms.</summary>
    public string QualifiedOp => string.IsNullOrEmpty(Domain) || Domain == "ai.onnx" ? OpType ?? "" : $"{Domain}:{OpType}";

    /// <summary>A readable label for errors: name or first output, and op.</summary>
    public string Label => $"{QualifiedOp} node '{(string.IsNullOrEmpty(Name) ? Outputs.FirstOrDefault() : Name)}'";

    /// <summary>The attribute with that name, or null.</summary>
    public AttributeProto? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    /// <summary>An int attribute, or <paramref name="fallback"/>.</summary>
    public long GetInt(string name, long fallback) => Attribute(name)?.I ?? fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/>.</summary>
    public float GetFloat(string name, float fallback) => Attribute(name)?.F ?? fallback;

    /// <summary>An ints attribute, or <paramref name="fallback"/> (null when absent and no fallback).</summary>
    public long[]? GetInts(string name, long[]? fallback = null) => Attribute(name) is { } a ? [.. a.Ints] : fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/>.</summary>
    public string? GetString(string name, string? fallback = null) =>
        Attribute(name)?.S is { } s ? System.Text.Encoding.UTF8.GetString(s) : fallback;

    /// <summary>Builds a node.</summary>
    public static NodeProto Create(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string? name = null,
        string? domain = null, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = opType, Name = name, Domain = domain };
        n.Inputs.AddRange(inputs);
        n.Outputs.AddRange(outputs);
        n.Attributes.AddRange(attributes);
        return n;
    }

    internal static NodeProto Read(ProtoReader r)
    {
        var n = new NodeProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: n.Inputs.Add(r.ReadString()); break;
                case 2: n.Outputs.Add(r.ReadString()); break;
                case 3: n.Name = r.ReadString(); break;
                case 4: n.OpType = r.ReadString(); break;
                case 5: n.Attributes.Add(AttributeProto.Read(r.ReadMessage())); break;
                case 6: n.DocString = r.ReadString(); break;
                case 7: n.Domain = r.ReadString(); break;
                default: n.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return n;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.Strings(1, Inputs);
        w.Strings(2, Outputs);
        w.String(3, Name);
        w.String(4, OpType);
        w.Messages(5, Attributes);
        w.String(6, DocString);
        w.String(7, Domain);
        w.Raw(Unknown);
        return w.ToArray();
    }
}

/// <summary>ONNX AttributeProto.</summary>
public sealed class AttributeProto : IProtoMessage
{
    /// <summary>Attribute types (AttributeProto.AttributeType).</summary>
    public enum Kind
    {
        /// <summary>Not set.</summary>
        Undefined = 0,
        /// <summary>float.</summary>
        Float = 1,
        /// <summary>int64.</summary>
        Int = 2,
        /// <summary>bytes.</summary>
        String = 3,
        /// <summary>tensor.</summary>
        Tensor = 4,
        /// <summary>graph.</summary>
        Graph = 5,
        /// <summary>floats.</summary>
        Floats = 6,
        /// <summary>ints.</summary>
        Ints = 7,
        /// <summary>strings.</summary>
        Strings = 8,
        /// <summary>tensors.</summary>
        Tensors = 9,
        /// <summary>graphs.</summary>
        Graphs = 10,
    }

    /// <summary>Name (field 1).</summary>
    public string? Name { get; set; }
    /// <summary>float (field 2).</summary>
    public float? F { get; set; }
    /// <summary>int (field 3).</summary>
    public long? I { get; set; }
    /// <summary>bytes/string (field 4).</summary>
    public byte[]? S { get; set; }
    /// <summary>tensor (field 5).</summary>
    public TensorProto? T { get; set; }
    /// <summary>graph (field 6).</summary>
    public GraphProto? G { get; set; }
    /// <summary>floats (field 7).</summary>
    public List<float> Floats { get; } = [];
    /// <summary>ints (field 8).</summary>
    public List<long> Ints { get; } = [];
    /// <summary>strings (field 9).</summary>
    public List<byte[]> Strings { get; } = [];
    /// <summary>tensors (field 10).</summary>
    public List<TensorProto> Tensors { get; } = [];
    /// <summary>graphs (field 11).</summary>
    public List<GraphProto> Graphs { get; } = [];
    /// <summary>Doc string (field 13).</summary>
    public string? DocString { get; set; }
    /// <summary>Type (field 20).</summary>
    public int? Type { get; set; }
    /// <summary>Reference attribute name in functions (field 21).</summary>
    public string? RefAttrName { get; set; }
    internal List<byte[]> Unknown { get; } = [];
    private bool floatsPacked, intsPacked;

    /// <summary>An int attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, I = value, Type = (int)Kind.Int };
    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, F = value, Type = (int)Kind.Float };
    /// <summary>A string attribute.</summary>
    public static AttributeProto String(string name, string value) => new() { Name = name, S = System.Text.Encoding.UTF8.GetBytes(value), Type = (int)Kind.String };
    /// <summary>A tensor attribute.</summary>
    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, T = value, Type = (int)Kind.Tensor };
    /// <summary>An ints attribute.</summary>
    public static AttributeProto IntList(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = (int)Kind.Ints };
        a.Ints.AddRange(values);
        return a;
    }
    /// <summary>A floats attribute.</summary>
    public static AttributeProto FloatList(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = (int)Kind.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    internal static AttributeProto Read(ProtoReader r)
    {
        var a = new AttributeProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: a.Name = r.ReadString(); break;
                case 2: a.F = r.ReadFloat(); break;
                case 3: a.I = r.ReadInt64(); break;
                case 4: a.S = r.ReadBytes(); break;
                case 5: a.T = TensorProto.Read(r.ReadMessage()); break;
                case 6: a.G = GraphProto.Read(r.ReadMessage()); break;
                case 7: a.floatsPacked = r.ReadRepeated(wire, a.Floats, x => x.ReadFloat(), 5); break;
                case 8: a.intsPacked = r.ReadRepeated(wire, a.Ints, x => x.ReadInt64(), 0); break;
                case 9: a.Strings.Add(r.ReadBytes()); break;
                case 10: a.Tensors.Add(TensorProto.Read(r.ReadMessage())); break;
                case 11: a.Graphs.Add(GraphProto.Read(r.ReadMessage())); break;
                case 13: a.DocString = r.ReadString(); break;
                case 20: a.Type = r.ReadInt32(); break;
                case 21: a.RefAttrName = r.ReadString(); break;
                default: a.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return a;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.String(1, Name);
        w.Float(2, F);
        w.Int64(3, I);
        w.Bytes(4, S);
        w.Message(5, T);
        w.Message(6, G);
        w.Floats(7, Floats, floatsPacked);
        w.Int64s(8, Ints, intsPacked);
        w.BytesList(9, Strings);
        w.Messages(10, Tensors);
        w.Messages(11, Graphs);
        w.String(13, DocString);
        w.Int32(20, Type);
        w.String(21, RefAttrName);
        w.Raw(Unknown);
        return w.ToArray();
    }
}
