namespace MLNetTransfer.Onnx.Proto;

// Hand-written additions to the classes generated from Onnx/onnx.proto.

internal sealed partial class GraphProto
{
    /// <summary>The initializer with that name, or null.</summary>
    public TensorProto? FindInitializer(string name) => Initializer.FirstOrDefault(t => t.Name == name);
}
