using MLNetTransfer.Onnx;
using MLNetTransfer.Tests.Onnx;
using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Tests.Torch;

[Collection("heavy")]
public class TorchOnnxExporterTests
{
    [Fact]
    public void New_head_one_sgd_step_export_and_ort_reproduces_torchsharp()
    {
        torch.manual_seed(1);
        using var body = OnnxTorchImporter.Import(ResNetGraphs.ResNet18());
        body.CutAt(body.Blocks[^1].Nodes[0].Input[0]); // the last residual unit's output, before pooling
        var pooled = body.Nodes.Count;
        body.Freeze(body.Blocks.Count - 2); // train the last residual unit and the head
        using var head = new LinearHead(512, 10, dropoutRate: 0.5);
        var x = torch.randn(4, 3, 64, 64);
        var y = torch.tensor(new long[] { 0, 3, 5, 9 });
        var trainable = body.parameters().Where(p => p.requires_grad).Concat(head.parameters()).ToList();
        var frozenBefore = body.parameters().Where(p => !p.requires_grad).Select(p => p.clone()).ToList();
        var statsBefore = body.buffers().Select(b => b.clone()).ToList();
        var optimizer = torch.optim.SGD(trainable, 0.1);
        body.train();
        head.train();
        var features = body.forward(x).mean([2L, 3L]);
        var loss = nn.functional.cross_entropy(head.forward(features), y);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();

        // Frozen weights and the frozen blocks' BatchNorm statistics did not move; trained ones did.
        var frozenAfter = body.parameters().Where(p => !p.requires_grad).ToList();
        Assert.NotEmpty(frozenAfter);
        for (int i = 0; i < frozenAfter.Count; i++) Assert.True(frozenAfter[i].allclose(frozenBefore[i], 0, 0));
        var statsAfter = body.buffers().ToList();
        int changedStats = statsAfter.Where((b, i) => !b.allclose(statsBefore[i], 0, 0)).Count();
        Assert.InRange(changedStats, 1, 2 * 2 * 3); // only the BatchNorms of the unfrozen unit (≤ 3 BN × mean/var)

        // Export body (cut at the feature map) + GlobalAveragePool is not in the cut graph, so export the pooled body.
        body.CutAt(body.Blocks[^1].Nodes.First(n => n.OpType == "GlobalAveragePool").Output[0]);
        Assert.True(body.Nodes.Count > pooled);
        body.eval();
        head.eval();
        var exported = TorchOnnxExporter.Export(body, head);
        float[] expected;
        using (torch.no_grad()) expected = nn.functional.softmax(head.forward(body.forward(x).flatten(1)), 1).data<float>().ToArray();
        var actual = OrtRunner.Run(exported, body.InputName, x.data<float>().ToArray(), [4, 3, 64, 64], "Score")["Score"].Data;
        float max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        // Probabilities after 8 residual units with random weights. TorchSharp runs channels-last (oneDNN's NHWC
        // kernels) and ORT NCHW, so they sum in different orders: 3.0e-4 measured (1.2e-4 with both NCHW).
        Assert.True(max <= 5e-4f, $"max |ORT - TorchSharp| = {max}");
        var reimported = OnnxTorchImporter.Import(OnnxModel.Parse(exported.ToByteArray()));
        Assert.Equal(13, reimported.Opset);
    }

    [NeedsAssets]
    [Fact]
    public void Exported_mobilenet_with_preprocessing_and_labels_runs_in_ort()
    {
        torch.manual_seed(2);
        using var body = OnnxTorchImporter.Import(OnnxModel.Load(TestAssets.MobileNetV2Int8));
        body.CutAt("464_quantized");
        using var head = new KerasHead(1280, 3);
        body.eval();
        head.eval();
        var exported = TorchOnnxExporter.Export(body, head, new ExportOptions
        {
            Labels = ["cat", "dog", "emu"],
            Preprocessing = new PreprocessingSpec { InputName = "pixels", ResizeTo = (96, 96) },
        });
        var rgba = OrtRunner.CifarRgba(2, 32);
        var pixels = new float[2 * 3 * 32 * 32];
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < 1024; p++)
                for (int c = 0; c < 3; c++) pixels[(n * 3 + c) * 1024 + p] = rgba[n][p * 4 + c] / 255f;
        var score = OrtRunner.Run(exported, "pixels", pixels, [2, 3, 32, 32], "Score")["Score"];
        Assert.Equal([2, 3], score.Shape);
        Assert.Equal(1.0, score.Data.Take(3).Sum(), 4);

        // The same through TorchSharp: resize + normalize by hand, then body + head.
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(pixels, [2, 3, 32, 32]);
        t = nn.functional.interpolate(t, [96, 96], mode: InterpolationMode.Bilinear, align_corners: false);
        var mean = torch.tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(1, 3, 1, 1);
        var std = torch.tensor(new[] { 0.229f, 0.224f, 0.225f }).reshape(1, 3, 1, 1);
        using var _ = torch.no_grad();
        var expected = nn.functional.softmax(head.forward(body.forward((t - mean) / std).flatten(1)), 1).data<float>().ToArray();
        float max = expected.Zip(score.Data, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max <= 1e-4f, $"max diff {max}");
    }
}
