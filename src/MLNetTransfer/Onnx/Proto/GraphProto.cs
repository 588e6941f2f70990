namespace MLNetTransfer.Onnx.Proto;

/// <summary>ONNX GraphProto.</summary>
public sealed class GraphProto : IProtoMessage
{
    /// <summary>Nodes (field 1), in file order (ONNX requires topological order, but this is checked, not assumed).</summary>
    public List<NodeProto> Nodes { get; } = [];
    /// <summary>Name (field 2).</summary>
    public string? Name { get; set; }
    /// <summary>Initializers: the weights and constants (field 5).</summary>
    public List<TensorProto> Initializers { get; } = [];
    /// <summary>Doc string (field 10).</summary>
    public string? DocString { get; set; }
    /// <summary>Inputs (field 11); in old models initializers may be listed here too.</summary>
    public List<ValueInfoProto> Inputs { get; } = [];
    /// <summary>Outputs (field 12).</summary>
    public List<ValueInfoProto> Outputs { get; } = [];
    /// <summary>Intermediate value types (field 13).</summary>
    public List<ValueInfoProto> ValueInfo { get; } = [];
    internal List<byte[]> Unknown { get; } = [];

    /// <summary>The initializer with that name, or null.</summary>
    public TensorProto? Initializer(string name) => Initializers.FirstOrDefault(t => t.Name == name);

    internal static GraphProto Read(ProtoReader r)
    {
        var g = new GraphProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: g.Nodes.Add(NodeProto.Read(r.ReadMessage())); break;
                case 2: g.Name = r.ReadString(); break;
                case 5: g.Initializers.Add(TensorProto.Read(r.ReadMessage())); break;
                case 10: g.DocString = r.ReadString(); break;
                case 11: g.Inputs.Add(ValueInfoProto.Read(r.ReadMessage())); break;
                case 12: g.Outputs.Add(ValueInfoProto.Read(r.ReadMessage())); break;
                case 13: g.ValueInfo.Add(ValueInfoProto.Read(r.ReadMessage())); break;
                default: g.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return g;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.Messages(1, Nodes);
        w.String(2, Name);
        w.Messages(5, Initializers);
        w.String(10, DocString);
        w.Messages(11, Inputs);
        w.Messages(12, Outputs);
        w.Messages(13, ValueInfo);
        w.Raw(Unknown);
        return w.ToArray();
    }
}

/// <summary>ONNX OperatorSetIdProto: a domain and its opset version.</summary>
public sealed class OperatorSetIdProto : IProtoMessage
{
    /// <summary>Domain; "" is the default ONNX domain (field 1).</summary>
    public string? Domain { get; set; }
    /// <summary>Version (field 2).</summary>
    public long? Version { get; set; }
    internal List<byte[]> Unknown { get; } = [];

    internal static OperatorSetIdProto Read(ProtoReader r)
    {
        var o = new OperatorSetIdProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: o.Domain = r.ReadString(); break;
                case 2: o.Version = r.ReadInt64(); break;
                default: o.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return o;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.String(1, Domain);
        w.Int64(2, Version);
        w.Raw(Unknown);
        return w.ToArray();
    }
}

/// <summary>ONNX ModelProto: the file's top-level message.</summary>
public sealed class ModelProto : IProtoMessage
{
    /// <summary>IR version (field 1).</summary>
    public long? IrVersion { get; set; }
    /// <summary>Producer name (field 2).</summary>
    public string? ProducerName { get; set; }
    /// <summary>Producer version (field 3).</summary>
    public string? ProducerVersion { get; set; }
    /// <summary>Domain (field 4).</summary>
    public string? Domain { get; set; }
    /// <summary>Model version (field 5).</summary>
    public long? ModelVersion { get; set; }
    /// <summary>Doc string (field 6).</summary>
    public string? DocString { get; set; }
    /// <summary>The graph (field 7).</summary>
    public GraphProto? Graph { get; set; }
    /// <summary>Opsets (field 8).</summary>
    public List<OperatorSetIdProto> OpsetImports { get; } = [];
    /// <summary>Metadata (field 14).</summary>
    public List<StringStringEntryProto> MetadataProps { get; } = [];
    internal List<byte[]> Unknown { get; } = [];

    internal static ModelProto Read(ProtoReader r)
    {
        var m = new ModelProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: m.IrVersion = r.ReadInt64(); break;
                case 2: m.ProducerName = r.ReadString(); break;
                case 3: m.ProducerVersion = r.ReadString(); break;
                case 4: m.Domain = r.ReadString(); break;
                case 5: m.ModelVersion = r.ReadInt64(); break;
                case 6: m.DocString = r.ReadString(); break;
                case 7: m.Graph = GraphProto.Read(r.ReadMessage()); break;
                case 8: m.OpsetImports.Add(OperatorSetIdProto.Read(r.ReadMessage())); break;
                case 14: m.MetadataProps.Add(StringStringEntryProto.Read(r.ReadMessage())); break;
                default: m.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return m;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.Int64(1, IrVersion);
        w.String(2, ProducerName);
        w.String(3, ProducerVersion);
        w.String(4, Domain);
        w.Int64(5, ModelVersion);
        w.String(6, DocString);
        w.Message(7, Graph);
        w.Messages(8, OpsetImports);
        w.Messages(14, MetadataProps);
        w.Raw(Unknown);
        return w.ToArray();
    }
}
