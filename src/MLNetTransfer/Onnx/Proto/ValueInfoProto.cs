using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Onnx.Proto;

// Hand-written additions to the classes generated from Onnx/onnx.proto.

internal sealed partial class ValueInfoProto
{
    /// <summary>A tensor value with element type and dims (null entry = symbolic, named by <paramref name="symbols"/> or "?").</summary>
    public static ValueInfoProto Tensor(string name, OnnxDataType type, long?[] dims, string?[]? symbols = null)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(dims[i] is long v ? new TensorShapeProto.Types.Dimension { DimValue = v }
                : new TensorShapeProto.Types.Dimension { DimParam = symbols?[i] ?? (i == 0 ? "N" : $"{name}_d{i}") });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}

internal sealed partial class TensorShapeProto
{
    public static partial class Types
    {
        internal sealed partial class Dimension
        {
            /// <summary>The fixed size, or null for a symbolic or unknown dimension.</summary>
            public long? Size => HasDimValue ? DimValue : null;

            /// <summary>The size, the symbol, or "?", for messages.</summary>
            public string Text => HasDimValue ? DimValue.ToString() : HasDimParam ? DimParam : "?";
        }
    }
}
