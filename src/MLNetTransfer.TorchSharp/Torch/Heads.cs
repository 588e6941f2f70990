using MLNetTransfer.Onnx.Proto;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetTransfer.Torch;

/// <summary>A classifier head that can write itself into an ONNX graph with its current weights.</summary>
internal interface IExportableHead
{
    /// <summary>Appends nodes reading <paramref name="input"/> [N, D] and writing <paramref name="output"/> [N, K].</summary>
    internal void AppendOnnx(GraphProto graph, string input, string output);
}

/// <summary>Dropout (training only) then one Linear layer: embedding → class logits.</summary>
internal sealed class LinearHead : nn.Module<Tensor, Tensor>, IExportableHead
{
    private readonly Dropout dropout;
    private readonly Linear fc;

    /// <summary>Creates the head with PyTorch's default initialization (seeded by the caller's torch.manual_seed).</summary>
    public LinearHead(long inFeatures, long classes, double dropoutRate = 0.0) : base("LinearHead")
    {
        dropout = nn.Dropout(dropoutRate);
        fc = nn.Linear(inFeatures, classes);
        RegisterComponents();
    }

    /// <summary>The linear layer.</summary>
    public Linear Fc => fc;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => fc.forward(dropout.forward(x));

    void IExportableHead.AppendOnnx(GraphProto graph, string input, string output) => HeadOnnx.Gemm(graph, input, output, fc, "head_fc");
}

/// <summary>The classic Keras transfer-learning head: Dropout → Dense(1024, ReLU) → BatchNorm → Dense(classes).</summary>
internal sealed class KerasHead : nn.Module<Tensor, Tensor>, IExportableHead
{
    private readonly Dropout dropout;
    private readonly Linear hidden;
    private readonly BatchNorm1d norm;
    private readonly Linear fc;

    /// <summary>Creates the head.</summary>
    public KerasHead(long inFeatures, long classes, double dropoutRate = 0.2, long hiddenUnits = 1024) : base("KerasHead")
    {
        dropout = nn.Dropout(dropoutRate);
        hidden = nn.Linear(inFeatures, hiddenUnits);
        norm = nn.BatchNorm1d(hiddenUnits);
        fc = nn.Linear(hiddenUnits, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => fc.forward(norm.forward(nn.functional.relu(hidden.forward(dropout.forward(x)))));

    void IExportableHead.AppendOnnx(GraphProto graph, string input, string output)
    {
        HeadOnnx.Gemm(graph, input, "head_hidden", hidden, "head_hidden");
        graph.Node.Add(NodeProto.Create("Relu", ["head_hidden"], ["head_relu"], "head_relu"));
        graph.Initializer.Add(HeadOnnx.Floats("head_bn_scale", norm.weight!));
        graph.Initializer.Add(HeadOnnx.Floats("head_bn_bias", norm.bias!));
        graph.Initializer.Add(HeadOnnx.Floats("head_bn_mean", norm.running_mean!));
        graph.Initializer.Add(HeadOnnx.Floats("head_bn_var", norm.running_var!));
        graph.Node.Add(NodeProto.Create("BatchNormalization", ["head_relu", "head_bn_scale", "head_bn_bias", "head_bn_mean", "head_bn_var"],
            ["head_norm"], "head_bn", null, AttributeProto.Float("epsilon", 1e-5f)));
        HeadOnnx.Gemm(graph, "head_norm", output, fc, "head_fc");
    }
}

internal static class HeadOnnx
{
    public static void Gemm(GraphProto graph, string input, string output, Linear layer, string prefix)
    {
        graph.Initializer.Add(Floats(prefix + "_weight", layer.weight!));
        var inputs = new List<string> { input, prefix + "_weight" };
        if (layer.bias is { } bias)
        {
            graph.Initializer.Add(Floats(prefix + "_bias", bias));
            inputs.Add(prefix + "_bias");
        }
        graph.Node.Add(NodeProto.Create("Gemm", inputs, [output], prefix, null, AttributeProto.Int("transB", 1)));
    }

    public static TensorProto Floats(string name, Tensor t)
    {
        using var cpu = t.detach().cpu().contiguous();
        return TensorProto.FromFloats(name, cpu.shape, cpu.data<float>().ToArray());
    }
}
