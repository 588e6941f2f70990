using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Onnx;

/// <summary>
/// Builds ONNX graphs in code: used for exports and by tests to generate models (e.g. ResNet-shaped graphs with random
/// weights) without any file from elsewhere.
/// </summary>
internal sealed class OnnxGraphBuilder(string graphName = "graph")
{
    private readonly GraphProto graph = new() { Name = graphName };
    private readonly Dictionary<string, int> counters = [];

    /// <summary>The graph being built (for edits the builder does not cover).</summary>
    public GraphProto Graph => graph;

    /// <summary>A fresh tensor or node name with that prefix.</summary>
    public string Unique(string prefix)
    {
        counters.TryGetValue(prefix, out int n);
        counters[prefix] = n + 1;
        return n == 0 ? prefix : $"{prefix}_{n}";
    }

    /// <summary>Declares a graph input (null dims are symbolic).</summary>
    public OnnxGraphBuilder AddInput(string name, OnnxDataType type, long?[] dims, string?[]? symbols = null)
    {
        graph.Input.Add(ValueInfoProto.Tensor(name, type, dims, symbols));
        return this;
    }

    /// <summary>Declares a graph output with full type and shape.</summary>
    public OnnxGraphBuilder AddOutput(string name, OnnxDataType type, long?[] dims, string?[]? symbols = null)
    {
        graph.Output.Add(ValueInfoProto.Tensor(name, type, dims, symbols));
        return this;
    }

    /// <summary>Adds a float initializer; returns its name.</summary>
    public string AddInitializer(string name, long[] dims, ReadOnlySpan<float> values)
    {
        graph.Initializer.Add(TensorProto.FromFloats(name, dims, values));
        return name;
    }

    /// <summary>Adds an int64 initializer; returns its name.</summary>
    public string AddInt64Initializer(string name, long[] dims, ReadOnlySpan<long> values)
    {
        graph.Initializer.Add(TensorProto.FromInt64s(name, dims, values));
        return name;
    }

    /// <summary>Adds a node; returns its first output's name.</summary>
    public string AddNode(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        graph.Node.Add(NodeProto.Create(opType, inputs, outputs, Unique(opType.ToLowerInvariant()), null, attributes));
        return outputs[0];
    }

    /// <summary>Adds a node with one output named from its op; returns the output name.</summary>
    public string Add(string opType, string[] inputs, params AttributeProto[] attributes) =>
        AddNode(opType, inputs, [Unique(opType.ToLowerInvariant() + "_out")], attributes);

    /// <summary>Finishes the model (IR version 8, default-domain opset <paramref name="opset"/>).</summary>
    public OnnxModel Build(int opset = 13, string producer = "MLNetTransfer")
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = producer, ProducerVersion = "0.1", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return OnnxModel.FromProto(model, $"<{graph.Name}>");
    }
}
