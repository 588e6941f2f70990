using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Onnx;

public class OnnxModelTests
{
    [NeedsAssets]
    [Fact]
    public void Real_model_round_trips_byte_for_byte()
    {
        var bytes = File.ReadAllBytes(TestAssets.MobileNetV2Int8);
        var model = OnnxModel.Parse(bytes, "mobilenet");
        Assert.Equal(73, model.Graph.Node.Count);
        Assert.Equal(12, model.OpsetVersion());
        Assert.Equal(bytes, model.ToByteArray());
    }

    [NeedsAssets]
    [Fact]
    public void Fields_this_schema_does_not_know_survive_a_round_trip()
    {
        var bytes = File.ReadAllBytes(TestAssets.MobileNetV2Int8);
        // field 1000 of ModelProto (not in the schema), a varint 7, as a newer exporter could write it
        byte[] unknown = [.. bytes, 0xC0, 0x3E, 0x07];
        var model = OnnxModel.Parse(unknown, "mobilenet+unknown");
        Assert.Equal(unknown, model.ToByteArray());
    }

    [NeedsAssets]
    [Fact]
    public void Topological_order_covers_every_node_and_respects_dependencies()
    {
        var model = OnnxModel.Load(TestAssets.MobileNetV2Int8);
        var order = model.TopologicalOrder();
        Assert.Equal(73, order.Count);
        var seen = new HashSet<string>(model.Graph.Input.Select(i => i.Name!).Concat(model.Graph.Initializer.Select(t => t.Name!))) { "" };
        foreach (var node in order)
        {
            Assert.All(node.Input, i => Assert.Contains(i, seen));
            foreach (var o in node.Output) seen.Add(o);
        }
    }

    [NeedsAssets]
    [Fact]
    public void Inspect_reports_ops_and_parameters_of_the_real_model()
    {
        var info = OnnxGraphEdits.Inspect(OnnxModel.Load(TestAssets.MobileNetV2Int8));
        Assert.Equal("input", info.InputName);
        Assert.Equal(52, info.Operators["QLinearConv"]);
        Assert.Equal(11, info.Operators["com.microsoft:QLinearAdd"]);
        Assert.InRange(info.ParameterCount, 3_400_000, 3_600_000); // MobileNetV2 1.0 has 3.5 M weights
    }

    [Fact]
    public void Built_model_runs_in_ort_with_the_expected_output()
    {
        // y = relu(conv1x1(x, w) + b) with w = 2·identity, b = -1: every value is max(2x - 1, 0).
        var b = new OnnxGraphBuilder("tiny");
        b.AddInput("x", OnnxDataType.Float, [null, 3, 4, 4]);
        var w = new float[9];
        for (int i = 0; i < 3; i++) w[i * 3 + i] = 2;
        b.AddInitializer("w", [3, 3, 1, 1], w);
        b.AddInitializer("b", [3], [-1f, -1f, -1f]);
        var conv = b.Add("Conv", ["x", "w", "b"]);
        b.AddNode("Relu", [conv], ["y"]);
        b.AddOutput("y", OnnxDataType.Float, [null, 3, 4, 4]);
        var model = b.Build();
        var reparsed = OnnxModel.Parse(model.ToByteArray());
        var x = Enumerable.Range(0, 48).Select(i => i / 48f).ToArray();
        var y = OrtRunner.Run(reparsed, "x", x, [1, 3, 4, 4], "y")["y"].Data;
        for (int i = 0; i < 48; i++) Assert.Equal(Math.Max(2 * x[i] - 1, 0), y[i], 6);
    }
}
