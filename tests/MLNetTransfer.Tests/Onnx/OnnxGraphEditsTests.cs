using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Onnx;

[Collection("heavy")]
public class OnnxGraphEditsTests
{
    private static OnnxModel Real() => OnnxModel.Load(TestAssets.MobileNetV2Int8);

    [NeedsAssets]
    [Fact]
    public void Symbolic_input_dims_let_the_real_model_run_at_96_pixels_and_batch_4()
    {
        var model = Real();
        OnnxGraphEdits.MakeInputDimsSymbolic(model, "input", "N", null, "H", "W");
        var dims = model.Graph.Input[0].Type!.TensorType!.Shape!.Dim;
        Assert.Equal(["N", "3", "H", "W"], dims.Select(d => d.Text));
        var images = OrtRunner.CifarRgba(4, 96);
        var result = OrtRunner.Run(model, "input", OrtRunner.Normalize(images, 96), [4, 3, 96, 96], "output")["output"];
        Assert.Equal([4, 1000], result.Shape);
        Assert.True(result.Data.Take(1000).Max() > result.Data.Take(1000).Average() + 1, "logits must not be flat");
    }

    [NeedsAssets]
    [Fact]
    public void Exposed_embedding_equals_manual_dequantization_of_the_quantized_tensor()
    {
        var images = OrtRunner.CifarRgba(3, 224);
        var input = OrtRunner.Normalize(images, 224);
        var raw = Real();
        OnnxGraphEdits.ExposeTensorAsOutput(raw, "464_quantized", OnnxDataType.Uint8, [null, 1280, 1, 1]);
        var q = OrtRunner.Run(raw, "input", input, [3, 3, 224, 224], "464_quantized")["464_quantized"].Data;

        var model = Real();
        OnnxGraphEdits.ExposeDequantized(model, "464_quantized", "464_scale", "464_zero_point", "embedding", [null, 1280], flatten: true);
        OnnxGraphEdits.Prune(model, "embedding");
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "QLinearMatMul"); // classifier cut away
        var e = OrtRunner.Run(model, "input", input, [3, 3, 224, 224], "embedding")["embedding"];
        Assert.Equal([3, 1280], e.Shape);
        var scale = Real().Graph.FindInitializer("464_scale")!.ToFloatArray()[0];
        var zero = Real().Graph.FindInitializer("464_zero_point")!.ToInt64Array()[0];
        for (int i = 0; i < q.Length; i++) Assert.Equal((q[i] - zero) * scale, e.Data[i]);
        Assert.True(q.Distinct().Count() > 50);
    }

    [NeedsAssets]
    [Fact]
    public void Prepended_rgba_preprocessing_equals_manual_normalization()
    {
        var images = OrtRunner.CifarRgba(2, 64);
        var reference = Real();
        OnnxGraphEdits.MakeInputDimsSymbolic(reference, "input", "N", null, "H", "W");
        var expected = OrtRunner.Run(reference, "input", OrtRunner.Normalize(images, 64), [2, 3, 64, 64], "output")["output"].Data;

        var model = Real();
        OnnxGraphEdits.MakeInputDimsSymbolic(model, "input", "N", null, "H", "W");
        OnnxGraphEdits.PrependPreprocessing(model, new PreprocessingSpec { InputName = "rgba", Layout = PixelLayout.Rgba8Nhwc });
        var bytes = new DenseTensor<byte>(images.SelectMany(b => b).ToArray(), [2, 64, 64, 4]);
        var actual = OrtRunner.Run(model.ToByteArray(), "rgba", bytes, "output")["output"].Data;
        float max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max <= 1e-4f, $"max diff {max}");
    }

    [NeedsAssets]
    [Fact]
    public void Prepended_resize_brings_small_images_to_network_size()
    {
        var model = Real();
        OnnxGraphEdits.MakeInputDimsSymbolic(model, "input", "N", null, "H", "W");
        OnnxGraphEdits.ExposeDequantized(model, "464_quantized", "464_scale", "464_zero_point", "embedding", [null, 1280], flatten: true);
        OnnxGraphEdits.Prune(model, "embedding");
        OnnxGraphEdits.PrependPreprocessing(model, new PreprocessingSpec { ResizeTo = (224, 224) });
        var pixels = new float[2 * 3 * 32 * 32];
        var random = new Random(3);
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)random.NextDouble();
        var e = OrtRunner.Run(model, "pixels", pixels, [2, 3, 32, 32], "embedding")["embedding"];
        Assert.Equal([2, 1280], e.Shape);
        Assert.NotEqual(e.Data.Take(1280), e.Data.Skip(1280));
    }

    [Fact]
    public void Flip_averaging_outputs_the_mean_of_each_image_and_its_mirror()
    {
        // Pixels [N,3,2,3] → Flatten → [N,18]: the output shows exactly what the backbone saw.
        var model = FlattenGraph(2, 3, opset: 12);
        OnnxGraphEdits.AddFlipAveraging(model, "x", "y");

        var random = new Random(5);
        var x = Enumerable.Range(0, 2 * 18).Select(_ => (float)random.NextDouble()).ToArray();
        var y = OrtRunner.Run(model, "x", x, [2, 3, 2, 3], "y")["y"];
        Assert.Equal([2, 18], y.Shape);
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int h = 0; h < 2; h++)
                    for (int w = 0; w < 3; w++)
                    {
                        int at = ((n * 3 + c) * 2 + h) * 3;
                        float expected = (x[at + w] + x[at + 2 - w]) / 2;
                        Assert.Equal(expected, y.Data[at + w], 6);
                    }
        Assert.NotEqual(x, y.Data); // the mirror really changed something
    }

    [Fact]
    public void Flip_averaging_refuses_opsets_without_slice_steps()
    {
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxGraphEdits.AddFlipAveraging(FlattenGraph(2, 2, opset: 9), "x", "y"));
        Assert.Contains("opset 9", ex.Message);
    }

    /// <summary>An image-shaped input x [N,3,h,w] flattened into the output y [N, 3·h·w].</summary>
    private static OnnxModel FlattenGraph(int h, int w, int opset)
    {
        var b = new OnnxGraphBuilder("flat");
        b.AddInput("x", OnnxDataType.Float, [null, 3, h, w]);
        b.AddNode("Flatten", ["x"], ["y"], AttributeProto.Int("axis", 1));
        b.AddOutput("y", OnnxDataType.Float, [null, 3 * h * w]);
        return b.Build(opset);
    }

    [Fact]
    public void A_model_whose_input_is_not_an_image_is_refused_with_its_shape()
    {
        var b = new OnnxGraphBuilder("tabular");
        b.AddInput("x", OnnxDataType.Float, [null, 10]);
        b.AddInitializer("w", [10, 2], new float[20]);
        b.AddNode("MatMul", ["x", "w"], ["y"]);
        b.AddOutput("y", OnnxDataType.Float, [null, 2]);
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxGraphEdits.Inspect(b.Build()));
        Assert.Contains("[N,10]", ex.Message);
        Assert.Contains("[N,3,H,W]", ex.Message);
    }
}
