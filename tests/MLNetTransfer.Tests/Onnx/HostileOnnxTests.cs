using Google.Protobuf;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Onnx;

/// <summary>Broken and hostile ONNX files: each must be a clear <see cref="OnnxFormatException"/> naming the file.</summary>
public class HostileOnnxTests
{
    private static OnnxModel Tiny()
    {
        var b = new OnnxGraphBuilder("tiny");
        b.AddInput("x", OnnxDataType.Float, [1, 3, 2, 2]);
        b.AddInitializer("w", [3, 3, 1, 1], new float[9]);
        b.AddNode("Conv", ["x", "w"], ["y"]);
        b.AddOutput("y", OnnxDataType.Float, [1, 3, 2, 2]);
        return b.Build();
    }

    private static OnnxFormatException Load(TempDir dir, string name, byte[] bytes)
    {
        var path = dir.Combine(name);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));
        Assert.Contains(name, ex.Message);
        return ex;
    }

    [NeedsAssets]
    [Fact]
    public void Empty_truncated_and_wrong_magic_files()
    {
        using var dir = new TempDir();
        var real = File.ReadAllBytes(TestAssets.MobileNetV2Int8);
        Assert.Contains("empty", Load(dir, "empty.onnx", []).Message);
        Assert.Contains("truncated", Load(dir, "truncated.onnx", real[..(real.Length / 2)]).Message);
        Load(dir, "jpeg.onnx", File.ReadAllBytes(Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "cat"))[0]));
        Load(dir, "text.onnx", "this is not a model at all"u8.ToArray());
    }

    [Fact]
    public void Size_bomb_length_prefix_is_refused_before_allocating()
    {
        using var dir = new TempDir();
        // field 7 (graph), length-delimited, declaring 2^40 bytes in a 12-byte file
        byte[] bomb = [0x3A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0, 0];
        Assert.Contains("remain", Load(dir, "bomb.onnx", bomb).Message);
    }

    [Fact]
    public void Size_bomb_inside_the_graph_is_refused()
    {
        using var dir = new TempDir();
        // graph (field 7, 8 bytes) holding an initializer (field 5) that declares 2^40 bytes: the length must be read
        // whole, not as its low 32 bits (0), which would parse the bytes after it as fields
        byte[] bomb = [0x3A, 0x08, 0x2A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x08];
        Assert.Contains("declares 1099511627776 bytes", Load(dir, "nested-bomb.onnx", bomb).Message);
    }

    [Fact]
    public void Messages_nested_too_deep_are_refused()
    {
        using var dir = new TempDir();
        // graph > node > attribute > graph > ...: 25 subgraphs nest 76 messages deep, past the limit of 64 (and short of
        // Google.Protobuf's own 100, so the limit checked is this library's)
        var graph = new GraphProto();
        for (int i = 0; i < 25; i++)
        {
            var outer = new GraphProto();
            var node = NodeProto.Create("If", ["c"], ["y"]);
            node.Attribute.Add(new AttributeProto { Name = "then_branch", G = graph, Type = AttributeProto.Types.AttributeType.Graph });
            outer.Node.Add(node);
            graph = outer;
        }
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        Assert.Contains("nested deeper than 64", Load(dir, "deep.onnx", model.ToByteArray()).Message);
    }

    [Fact]
    public void Tensor_declaring_more_elements_than_it_holds()
    {
        using var dir = new TempDir();
        var model = Tiny();
        model.Graph.FindInitializer("w")!.Dims[0] = 1_000_000_000; // 9 floats present, 3 G declared
        Assert.Contains("declares", Load(dir, "dims.onnx", model.ToByteArray()).Message);
        var negative = Tiny();
        negative.Graph.FindInitializer("w")!.Dims[1] = -3;
        Assert.Contains("negative", Load(dir, "negative.onnx", negative.ToByteArray()).Message);
    }

    [Theory]
    [InlineData("../outside.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../outside.bin")]
    public void External_data_outside_the_model_folder_is_refused(string location)
    {
        using var dir = new TempDir();
        var model = Tiny();
        var w = model.Graph.FindInitializer("w")!;
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        var ex = Load(dir, "external.onnx", model.ToByteArray());
        Assert.Contains(location, ex.Message);
    }

    [Fact]
    public void External_data_inside_the_folder_loads()
    {
        using var dir = new TempDir();
        var model = Tiny();
        var w = model.Graph.FindInitializer("w")!;
        var data = w.RawData.ToByteArray();
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        File.WriteAllBytes(dir.Combine("weights.bin"), data);
        File.WriteAllBytes(dir.Combine("ok.onnx"), model.ToByteArray());
        Assert.Equal(data, OnnxModel.Load(dir.Combine("ok.onnx")).Graph.FindInitializer("w")!.RawData.ToByteArray());
    }

    [Fact]
    public void Cyclic_graph_and_dangling_input()
    {
        var model = Tiny();
        model.Graph.Node.Add(NodeProto.Create("Relu", ["z"], ["q"], "a"));
        model.Graph.Node.Add(NodeProto.Create("Relu", ["q"], ["z"], "b"));
        Assert.Contains("cycle", Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(model.ToByteArray(), "cyclic.onnx").TopologicalOrder()).Message);
        var dangling = Tiny();
        dangling.Graph.Node.Add(NodeProto.Create("Relu", ["nowhere"], ["r"], "c"));
        Assert.Contains("'nowhere'", Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(dangling.ToByteArray(), "d.onnx").TopologicalOrder()).Message);
    }

    [Fact]
    public void Graph_without_nodes_is_refused()
    {
        using var dir = new TempDir();
        var model = Tiny();
        model.Graph.Node.Clear();
        Assert.Contains("no nodes", Load(dir, "nodes.onnx", model.ToByteArray()).Message);
    }

    [Fact]
    public void Opset_limit_is_the_newest_onnx_runtime_loads()
    {
        OnnxModel At(int opset)
        {
            var b = new OnnxGraphBuilder("relu");
            b.AddInput("x", OnnxDataType.Float, [1, 3, 2, 2]);
            b.AddNode("Relu", ["x"], ["y"]);
            b.AddOutput("y", OnnxDataType.Float, [1, 3, 2, 2]);
            var model = b.Build();
            model.Proto.OpsetImport[0].Version = opset; // past validation, as a file from a newer exporter would be
            return model;
        }
        using (new Microsoft.ML.OnnxRuntime.InferenceSession(At(OnnxModel.MaxSupportedOpset).ToByteArray())) { }
        Assert.ThrowsAny<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(() => new Microsoft.ML.OnnxRuntime.InferenceSession(At(OnnxModel.MaxSupportedOpset + 1).ToByteArray()));
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(At(OnnxModel.MaxSupportedOpset + 1).ToByteArray(), "new.onnx"));
        Assert.Contains($"opset {OnnxModel.MaxSupportedOpset + 1}", ex.Message);
    }
}
