using System.CommandLine;
using System.Text.Json;
using MLNetTransfer.Data;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;

namespace MLNetTransfer.Cli.Commands;

/// <summary>
/// <c>inspect MODEL.onnx</c>: tells before training whether a model is supported — operators, blocks, parameters; with
/// --images, ORT vs the imported TorchSharp network on those images; with --export, writes the imported network back.
/// </summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "ONNX image classifier" };
        var images = new Option<string?>("--images") { Description = "Images (one folder per class, or a flat folder) to compare ORT and TorchSharp on" };
        var export = new Option<string?>("--export") { Description = "Write the imported network back to this ONNX file" };
        var json = new Option<bool>("--json") { Description = "JSON output (maxAbsDiff, top1Agreement, blocks, parameters, ...)" };
        var size = new Option<int>("--image-size") { Description = "Image side for --images", DefaultValueFactory = _ => OnnxTorchImporter.DefaultVerifySize };
        var command = new Command("inspect", "Check that an ONNX model imports into TorchSharp and matches ONNX Runtime") { model, images, export, json, size };
        command.SetAction(result => CliRunner.Guard(() =>
        {
            var path = result.GetValue(model)!;
            if (result.GetValue(export) is { } exportTo) OutputLocation.RequireWritableFile(exportTo, "--export");
            var onnx = OnnxModel.Load(path);
            var info = OnnxGraphEdits.Inspect(onnx);
            using var module = OnnxTorchImporter.Import(onnx);
            var report = new Dictionary<string, object?>
            {
                ["model"] = Path.GetFullPath(path),
                ["input"] = $"{info.InputName} [{string.Join(",", info.InputDims)}]",
                ["opset"] = info.Opset,
                ["operators"] = info.Operators,
                ["quantized"] = OnnxDequantizer.IsQuantized(onnx),
                ["parameters"] = module.parameters().Sum(p => p.numel()),
                ["blocks"] = module.Blocks.Select(b => new { name = b.Name, nodes = b.Nodes.Count, output = b.Output }).ToList(),
                ["embedding"] = EmbeddingTensor(module),
            };
            if (result.GetValue(images) is { } dir) Compare(onnx, module, dir, result.GetValue(size), report);
            if (result.GetValue(export) is { } target)
            {
                TorchOnnxExporter.Export(module, null, new ExportOptions { AppendSoftmax = false, OutputName = module.OutputName + "_exported" }).Save(target);
                report["exported"] = Path.GetFullPath(target);
            }
            if (result.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            else foreach (var (k, v) in report) Console.WriteLine($"{k}: {(v is string or int or long or bool or double or float or null ? v : JsonSerializer.Serialize(v))}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Compare(OnnxModel onnx, OnnxTorchModule module, string dir, int size, Dictionary<string, object?> report)
    {
        var files = Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => ImageFolder.Extensions.Contains(Path.GetExtension(f)) && ImageFolder.Check(f) is null).Order().Take(64).ToList()
            : throw new DirectoryNotFoundException($"{dir}: image folder not found.");
        if (files.Count == 0) throw new BadInputException($"{dir}: no readable image.");
        var check = OnnxTorchImporter.Verify(onnx, module, files, size);
        report["images"] = check.Images;
        report["maxAbsDiff"] = check.MaxAbsDiff;
        report["top1Agreement"] = check.Top1Agreement;
    }

    // The pooled tensor, after the range clip an int8 twin puts on it (that is what the int8 model's embedding holds).
    private static string? EmbeddingTensor(OnnxTorchModule module)
    {
        var head = module.Blocks.LastOrDefault(b => b.Name == "head")?.Nodes;
        var pool = head?.FirstOrDefault(n => n.OpType is "GlobalAveragePool" or "ReduceMean");
        if (pool is null) return null;
        var clip = head!.FirstOrDefault(n => n.OpType == "Clip" && n.Input[0] == pool.Output[0]);
        return (clip ?? pool).Output[0];
    }
}
