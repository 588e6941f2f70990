using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Onnx.Proto;

namespace MLNetTransfer.Bench;

/// <summary>
/// Checks the colour order the featurizer feeds: for CIFAR-10's vehicle classes, how often ImageNet top-5 (int8 logits)
/// names a vehicle of the right kind, as fed (RGB) and with red and blue swapped inside the graph. A swapped pipeline
/// would show up as the second beating the first.
/// </summary>
internal static class ChannelOrderBench
{
    private static readonly Dictionary<string, string[]> Words = new()
    {
        ["airplane"] = ["airliner", "warplane", "airship", "wing", "space shuttle", "aircraft"],
        ["automobile"] = ["car", "cab", "convertible", "jeep", "limousine", "minivan", "model t", "racer", "beach wagon", "pickup", "grille", "police van", "ambulance"],
        ["ship"] = ["boat", "ship", "liner", "schooner", "catamaran", "trimaran", "yawl", "carrier", "submarine", "lifeboat", "wreck", "dock", "pier"],
        ["truck"] = ["truck", "van", "trailer", "fire engine", "pickup", "tractor", "tow"],
    };

    public static void Run(string assets, bool quick)
    {
        var resolver = new AssetResolver(assets);
        var names = File.ReadAllLines(Path.Combine(assets, "models/imagenet-labels.txt")).Select(n => n.ToLowerInvariant()).ToArray();
        var test = ImageFolder.Scan(Path.Combine(assets, "datasets/cifar10/test"), new ImageFolderOptions { MaxPerClass = quick ? 50 : 200, Seed = 1 }).Images
            .Where(i => Words.ContainsKey(i.Label)).ToList();
        var int8 = resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset);
        var asFed = BackboneCatalog.FromOnnxFile(int8, "output") with { Name = "rgb-logits" };
        var swapped = BackboneCatalog.FromOnnxFile(Swapped(int8), "output") with { Name = "bgr-logits" };
        foreach (var backbone in new[] { asFed, swapped })
        {
            var logits = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = backbone, Assets = resolver }).Featurize(test.Select(i => i.Path)).ToList();
            var hits = test.Select((item, i) => logits[i].Select((v, k) => (v, k)).OrderByDescending(p => p.v).Take(5)
                .Any(p => Words[item.Label].Any(w => names[p.k].Contains(w)))).ToList();
            var perClass = string.Join(", ", Words.Keys.Select(c => $"{c} {test.Where((t, i) => t.Label == c && hits[i]).Count()}/{test.Count(t => t.Label == c)}"));
            Console.WriteLine($"{backbone.Name}: top-5 names a matching vehicle for {hits.Count(h => h)}/{test.Count} ({perClass})");
        }
    }

    /// <summary>The model with its input's channels reversed by a Gather in front.</summary>
    private static string Swapped(string path)
    {
        var model = OnnxModel.Load(path);
        var g = model.Graph;
        string input = OnnxGraphEdits.ImageInput(model).Name!;
        foreach (var n in g.Node) for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == input) n.Input[i] = input + "_swapped";
        g.Initializer.Add(TensorProto.FromInt64s("bgr_order", [3], [2, 1, 0]));
        g.Node.Insert(0, NodeProto.Create("Gather", [input, "bgr_order"], [input + "_swapped"], "swap_rb", null, AttributeProto.Int("axis", 1)));
        var target = Path.Combine(Path.GetTempPath(), "mlnt-mobilenetv2-int8-bgr.onnx");
        model.Save(target);
        return target;
    }
}
