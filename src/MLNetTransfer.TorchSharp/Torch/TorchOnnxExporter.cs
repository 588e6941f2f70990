using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;
using OnnxDataType = MLNetTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNetTransfer.Torch;

/// <summary>Options of <see cref="TorchOnnxExporter.Export"/>.</summary>
internal sealed record ExportOptions
{
    /// <summary>Name of the scores output. Default <c>Score</c>.</summary>
    public string OutputName { get; init; } = "Score";

    /// <summary>Append Softmax so the output is class probabilities. Default true.</summary>
    public bool AppendSoftmax { get; init; } = true;

    /// <summary>
    /// Prepend resize + normalization so the model takes float RGB in [0,1] at any size (what ML.NET's ExtractPixels
    /// with scale 1/255 gives). Default null: the model takes normalized tensors at the training size.
    /// </summary>
    public PreprocessingSpec? Preprocessing { get; init; }

    /// <summary>When set, also output <c>PredictedLabel</c> [N] strings (argmax looked up in these names). Default null.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Default-domain opset of the file (at least 13). Default 13.</summary>
    public int Opset { get; init; } = 13;
}

/// <summary>
/// Writes an imported network (and a new head) back to an fp32 ONNX model with the current weights: the imported float
/// graph is kept node for node, its initializers replaced by the module's tensors, cut at the module's output, and the
/// head appended. ONNX Runtime then reproduces TorchSharp's outputs.
/// </summary>
internal static class TorchOnnxExporter
{
    /// <summary>Exports; <paramref name="head"/> null exports the body alone (its output as is).</summary>
    public static OnnxModel Export(OnnxTorchModule body, IExportableHead? head = null, ExportOptions? options = null)
    {
        options ??= new ExportOptions();
        var model = OnnxModel.Parse(body.Model.ToByteArray(), body.Model.Source + " (export)");
        var g = model.Graph;
        foreach (var (name, tensor) in body.Weights)
        {
            int i = g.Initializer.FindIndex(t => t.Name == name);
            g.Initializer[i] = HeadOnnx.Floats(name, tensor);
        }
        // Keep only what computes the body's output, then hang the head on it.
        g.Output.Clear();
        g.Output.Add(ValueInfoProto.Tensor(body.OutputName, OnnxDataType.Float, [null, null, null, null]));
        OnnxGraphEdits.Prune(model, body.OutputName);
        g.Output.Clear();
        string logits = body.OutputName;
        if (head is not null)
        {
            g.Node.Add(NodeProto.Create("Flatten", [body.OutputName], ["embedding_flat"], "embedding_flatten", null, AttributeProto.Int("axis", 1)));
            logits = "logits";
            head.AppendOnnx(g, "embedding_flat", logits);
        }
        OnnxOpsetUpgrade.Upgrade(model, Math.Max(OnnxOpsetUpgrade.EditingOpset, options.Opset));
        string scores = options.OutputName;
        if (options.AppendSoftmax) g.Node.Add(NodeProto.Create("Softmax", [logits], [scores], "softmax", null, AttributeProto.Int("axis", -1)));
        else g.Node.Add(NodeProto.Create("Identity", [logits], [scores], "scores"));
        g.Output.Add(ValueInfoProto.Tensor(scores, OnnxDataType.Float, head is null ? [null, null, null, null] : [null, null]));
        if (options.Labels is { } labels)
        {
            var names = new TensorProto { Name = "label_names", DataType = (int)OnnxDataType.String };
            names.Dims.Add(labels.Count);
            names.StringData.AddRange(labels.Select(Google.Protobuf.ByteString.CopyFromUtf8));
            g.Initializer.Add(names);
            g.Node.Add(NodeProto.Create("ArgMax", [scores], ["predicted_index"], "argmax", null, AttributeProto.Int("axis", 1), AttributeProto.Int("keepdims", 0)));
            g.Node.Add(NodeProto.Create("Gather", ["label_names", "predicted_index"], ["PredictedLabel"], "label_lookup", null, AttributeProto.Int("axis", 0)));
            g.Output.Add(ValueInfoProto.Tensor("PredictedLabel", OnnxDataType.String, [null]));
        }
        OnnxGraphEdits.MakeInputDimsSymbolic(model, body.InputName, "N", null, "H", "W");
        // A declared class count gives ML.NET a known-size Score vector (its multiclass convention; Evaluate requires it).
        g.Output[0] = ValueInfoProto.Tensor(scores, OnnxDataType.Float, head is null ? [null, null, null, null] : [null, options.Labels?.Count]);
        if (options.Preprocessing is { } spec) OnnxGraphEdits.PrependPreprocessing(model, spec);
        model.Proto.ProducerName = "MLNetTransfer";
        return OnnxModel.Parse(model.ToByteArray(), "<exported>");
    }
}
