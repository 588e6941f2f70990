namespace MLNetTransfer.Onnx.Proto;

/// <summary>ONNX ValueInfoProto: a named, typed value (graph input, output or intermediate).</summary>
public sealed class ValueInfoProto : IProtoMessage
{
    /// <summary>Name (field 1).</summary>
    public string? Name { get; set; }
    /// <summary>Type (field 2).</summary>
    public TypeProto? Type { get; set; }
    /// <summary>Doc string (field 3).</summary>
    public string? DocString { get; set; }
    internal List<byte[]> Unknown { get; } = [];

    /// <summary>A tensor value with element type and dims (null entry = symbolic, named by <paramref name="symbols"/> or "?").</summary>
    public static ValueInfoProto Tensor(string name, OnnxDataType type, long?[] dims, string?[]? symbols = null)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dims.Add(dims[i] is long v ? new TensorShapeProto.Dimension { DimValue = v }
                : new TensorShapeProto.Dimension { DimParam = symbols?[i] ?? (i == 0 ? "N" : $"{name}_d{i}") });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.TensorTypeProto { ElemType = (int)type, Shape = shape } } };
    }

    internal static ValueInfoProto Read(ProtoReader r)
    {
        var v = new ValueInfoProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: v.Name = r.ReadString(); break;
                case 2: v.Type = TypeProto.Read(r.ReadMessage()); break;
                case 3: v.DocString = r.ReadString(); break;
                default: v.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return v;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.String(1, Name);
        w.Message(2, Type);
        w.String(3, DocString);
        w.Raw(Unknown);
        return w.ToArray();
    }
}

/// <summary>ONNX TypeProto; tensor types are parsed, other kinds kept as raw bytes.</summary>
public sealed class TypeProto : IProtoMessage
{
    /// <summary>Tensor type (field 1), or null for sequence/map/optional types.</summary>
    public TensorTypeProto? TensorType { get; set; }
    /// <summary>Denotation (field 6).</summary>
    public string? Denotation { get; set; }
    internal List<byte[]> Unknown { get; } = [];

    internal static TypeProto Read(ProtoReader r)
    {
        var t = new TypeProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: t.TensorType = TensorTypeProto.Read(r.ReadMessage()); break;
                case 6: t.Denotation = r.ReadString(); break;
                default: t.Unknown.Add(r.SkipField(start, wire)); break;
            }
        }
        return t;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.Message(1, TensorType);
        // Fields 4, 5, 8, 9 (sequence, map, sparse, optional) are preserved raw; 6 is written before them only
        // when they are absent, which is the only case the ONNX tools produce with a tensor type.
        w.String(6, Denotation);
        w.Raw(Unknown);
        return w.ToArray();
    }

    /// <summary>TypeProto.Tensor: element type and shape.</summary>
    public sealed class TensorTypeProto : IProtoMessage
    {
        /// <summary>Element type (field 1).</summary>
        public int? ElemType { get; set; }
        /// <summary>Shape (field 2); null when unknown rank.</summary>
        public TensorShapeProto? Shape { get; set; }
        internal List<byte[]> Unknown { get; } = [];

        internal static TensorTypeProto Read(ProtoReader r)
        {
            var t = new TensorTypeProto();
            while (!r.AtEnd)
            {
                int start = r.Position;
                var (field, wire) = r.ReadTag();
                switch (field)
                {
                    case 1: t.ElemType = r.ReadInt32(); break;
                    case 2: t.Shape = TensorShapeProto.Read(r.ReadMessage()); break;
                    default: t.Unknown.Add(r.SkipField(start, wire)); break;
                }
            }
            return t;
        }

        /// <inheritdoc/>
        public byte[] ToByteArray()
        {
            using var w = new ProtoWriter();
            w.Int32(1, ElemType);
            w.Message(2, Shape);
            w.Raw(Unknown);
            return w.ToArray();
        }
    }
}

/// <summary>ONNX TensorShapeProto.</summary>
public sealed class TensorShapeProto : IProtoMessage
{
    /// <summary>Dimensions (field 1).</summary>
    public List<Dimension> Dims { get; } = [];
    internal List<byte[]> Unknown { get; } = [];

    internal static TensorShapeProto Read(ProtoReader r)
    {
        var s = new TensorShapeProto();
        while (!r.AtEnd)
        {
            int start = r.Position;
            var (field, wire) = r.ReadTag();
            if (field == 1) s.Dims.Add(Dimension.Read(r.ReadMessage()));
            else s.Unknown.Add(r.SkipField(start, wire));
        }
        return s;
    }

    /// <inheritdoc/>
    public byte[] ToByteArray()
    {
        using var w = new ProtoWriter();
        w.Messages(1, Dims);
        w.Raw(Unknown);
        return w.ToArray();
    }

    /// <summary>One dimension: a value or a symbolic name.</summary>
    public sealed class Dimension : IProtoMessage
    {
        /// <summary>Fixed size (field 1).</summary>
        public long? DimValue { get; set; }
        /// <summary>Symbolic name (field 2).</summary>
        public string? DimParam { get; set; }
        /// <summary>Denotation (field 3).</summary>
        public string? Denotation { get; set; }
        internal List<byte[]> Unknown { get; } = [];

        /// <inheritdoc/>
        public override string ToString() => DimValue?.ToString() ?? DimParam ?? "?";

        internal static Dimension Read(ProtoReader r)
        {
            var d = new Dimension();
            while (!r.AtEnd)
            {
                int start = r.Position;
                var (field, wire) = r.ReadTag();
                switch (field)
                {
                    case 1: d.DimValue = r.ReadInt64(); break;
                    case 2: d.DimParam = r.ReadString(); break;
                    case 3: d.Denotation = r.ReadString(); break;
                    default: d.Unknown.Add(r.SkipField(start, wire)); break;
                }
            }
            return d;
        }

        /// <inheritdoc/>
        public byte[] ToByteArray()
        {
            using var w = new ProtoWriter();
            w.Int64(1, DimValue);
            w.String(2, DimParam);
            w.String(3, Denotation);
            w.Raw(Unknown);
            return w.ToArray();
        }
    }
}
