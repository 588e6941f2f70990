using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Tests.Torch;

/// <summary>ResNet-shaped ONNX graphs with random weights, written with the project's own builder (no file from elsewhere).</summary>
internal static class ResNetGraphs
{
    public static OnnxModel ResNet18(int classes = 10, int seed = 1) => Build([2, 2, 2, 2], bottleneck: false, classes, seed);
    public static OnnxModel ResNet50(int classes = 10, int seed = 1, int width = 64) => Build([3, 4, 6, 3], bottleneck: true, classes, seed, width);

    private static OnnxModel Build(int[] layers, bool bottleneck, int classes, int seed, int width = 64)
    {
        var random = new Random(seed);
        var b = new OnnxGraphBuilder(bottleneck ? "resnet50" : "resnet18");
        b.AddInput("input", OnnxDataType.Float, [null, 3, null, null], ["N", null, "H", "W"]);
        string x = ConvBn(b, random, "input", 3, width, 7, 2, 3, relu: true);
        x = b.Add("MaxPool", [x], AttributeProto.IntList("kernel_shape", 3, 3), AttributeProto.IntList("strides", 2, 2), AttributeProto.IntList("pads", 1, 1, 1, 1));
        int channels = width;
        for (int stage = 0; stage < layers.Length; stage++)
        {
            int planes = width << stage;
            for (int block = 0; block < layers[stage]; block++)
            {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                int outChannels = bottleneck ? planes * 4 : planes;
                string y;
                if (bottleneck)
                {
                    y = ConvBn(b, random, x, channels, planes, 1, 1, 0, relu: true);
                    y = ConvBn(b, random, y, planes, planes, 3, stride, 1, relu: true);
                    y = ConvBn(b, random, y, planes, outChannels, 1, 1, 0, relu: false);
                }
                else
                {
                    y = ConvBn(b, random, x, channels, planes, 3, stride, 1, relu: true);
                    y = ConvBn(b, random, y, planes, outChannels, 3, 1, 1, relu: false);
                }
                string skip = stride != 1 || channels != outChannels ? ConvBn(b, random, x, channels, outChannels, 1, stride, 0, relu: false) : x;
                x = b.Add("Relu", [b.Add("Add", [y, skip])]);
                channels = outChannels;
            }
        }
        x = b.Add("GlobalAveragePool", [x]);
        x = b.Add("Flatten", [x], AttributeProto.Int("axis", 1));
        var w = b.AddInitializer(b.Unique("fc_w"), [classes, channels], Normal(random, classes * channels, Math.Sqrt(1.0 / channels)));
        var bias = b.AddInitializer(b.Unique("fc_b"), [classes], Normal(random, classes, 0.1));
        b.AddNode("Gemm", [x, w, bias], ["logits"], AttributeProto.Int("transB", 1));
        b.AddOutput("logits", OnnxDataType.Float, [null, classes]);
        return b.Build(opset: 13);
    }

    private static string ConvBn(OnnxGraphBuilder b, Random random, string x, int cin, int cout, int k, int stride, int pad, bool relu)
    {
        var w = b.AddInitializer(b.Unique("conv_w"), [cout, cin, k, k], Normal(random, cout * cin * k * k, Math.Sqrt(2.0 / (cin * k * k))));
        var conv = b.Add("Conv", [x, w], AttributeProto.IntList("kernel_shape", k, k), AttributeProto.IntList("strides", stride, stride),
            AttributeProto.IntList("pads", pad, pad, pad, pad));
        var scale = b.AddInitializer(b.Unique("bn_scale"), [cout], Normal(random, cout, 0.1, 1.0));
        var shift = b.AddInitializer(b.Unique("bn_bias"), [cout], Normal(random, cout, 0.1));
        var mean = b.AddInitializer(b.Unique("bn_mean"), [cout], Normal(random, cout, 0.1));
        var variance = b.AddInitializer(b.Unique("bn_var"), [cout], [.. Normal(random, cout, 0.1, 1.0).Select(Math.Abs)]);
        var bn = b.Add("BatchNormalization", [conv, scale, shift, mean, variance], AttributeProto.Float("epsilon", 1e-5f));
        return relu ? b.Add("Relu", [bn]) : bn;
    }

    public static float[] Normal(Random random, int count, double std, double mean = 0)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = (float)(mean + std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }
}
