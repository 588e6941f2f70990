using Google.Protobuf;
using MLNetTransfer.IO;
using MLNetTransfer.Onnx.Proto;

namespace MLNetTransfer.Onnx;

/// <summary>
/// An ONNX model in memory: parse, validate, edit, save. Parsing checks every length against the bytes present and
/// every tensor's declared size against its data, refuses external-data paths outside the model's folder, and fails
/// with an <see cref="OnnxFormatException"/> naming the file and the reason.
/// </summary>
public sealed class OnnxModel
{
    private OnnxModel(ModelProto proto, string source)
    {
        Proto = proto;
        Source = source;
    }

    /// <summary>The protobuf message tree.</summary>
    internal ModelProto Proto { get; }

    /// <summary>The main graph.</summary>
    internal GraphProto Graph => Proto.Graph;

    /// <summary>Where it was read from (for messages).</summary>
    public string Source { get; }

    /// <summary>Reads a model file; tensors stored as external data are loaded into the model (paths confined to its folder).</summary>
    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: ONNX file not found.", path);
        var model = Parse(File.ReadAllBytes(path), path);
        model.LoadExternalData(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return model;
    }

    /// <summary>Parses model bytes; <paramref name="sourceName"/> names the origin in errors.</summary>
    public static OnnxModel Parse(byte[] bytes, string sourceName = "<memory>")
    {
        if (bytes.Length == 0) throw new OnnxFormatException($"{sourceName}: not a valid ONNX model: the file is empty.");
        OnnxWireCheck.Check(bytes, ModelProto.Descriptor, sourceName);
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(bytes); }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or System.Text.DecoderFallbackException)
        {
            throw new OnnxFormatException($"{sourceName}: not a valid ONNX model: {ex.Message}", ex);
        }
        var model = new OnnxModel(proto, sourceName);
        model.Validate();
        return model;
    }

    /// <summary>Wraps (and validates) a message tree built in code.</summary>
    internal static OnnxModel FromProto(ModelProto proto, string sourceName = "<built>")
    {
        var model = new OnnxModel(proto, sourceName);
        model.Validate();
        return model;
    }

    /// <summary>Serializes the model.</summary>
    public byte[] ToByteArray() => Proto.ToByteArray();

    /// <summary>Writes atomically (temp file + rename): a crash never leaves a half-written model.</summary>
    public void Save(string path) => AtomicFile.WriteAllBytes(path, ToByteArray());

    /// <summary>The opset version imported for a domain ("" = default ONNX domain), or 0 when not imported.</summary>
    public int OpsetVersion(string domain = "") =>
        (int)(Proto.OpsetImport.FirstOrDefault(o => o.Domain == domain || (domain == "" && o.Domain == "ai.onnx"))?.Version ?? 0);

    /// <summary>The nodes in an order where every input is produced before use. Throws on a cycle.</summary>
    internal IReadOnlyList<NodeProto> TopologicalOrder()
    {
        var available = new HashSet<string>(Graph.Input.Select(i => i.Name).Concat(Graph.Initializer.Select(t => t.Name))) { "" };
        var remaining = new List<NodeProto>(Graph.Node);
        var order = new List<NodeProto>(remaining.Count);
        while (remaining.Count > 0)
        {
            int before = order.Count;
            for (int i = 0; i < remaining.Count; i++)
            {
                var node = remaining[i];
                if (!node.Input.All(available.Contains)) continue;
                order.Add(node);
                foreach (var o in node.Output) available.Add(o);
                remaining.RemoveAt(i--);
            }
            if (order.Count == before)
            {
                var stuck = remaining[0];
                var missing = stuck.Input.First(i => !available.Contains(i));
                bool producedLater = remaining.Any(n => n.Output.Contains(missing));
                throw new OnnxFormatException(producedLater
                    ? $"{Source}: the graph has a cycle: {stuck.Label} depends on '{missing}', which depends on it in turn."
                    : $"{Source}: {stuck.Label} reads '{missing}', which no input, initializer or node provides.");
            }
        }
        return order;
    }

    /// <summary>
    /// The newest default-domain opset accepted: the newest ONNX Runtime 1.32 loads (a test pins it to ORT). A newer model
    /// is refused when read, with its version in the message, instead of failing later inside the runtime.
    /// </summary>
    public const int MaxSupportedOpset = 28;

    private void Validate()
    {
        if (Proto.Graph is null) throw new OnnxFormatException($"{Source}: not a valid ONNX model: no graph (is this an ONNX file?).");
        if (OpsetVersion() > MaxSupportedOpset)
            throw new OnnxFormatException($"{Source}: opset {OpsetVersion()} is newer than this build supports (up to {MaxSupportedOpset}, ONNX Runtime 1.32); re-export the model at opset {MaxSupportedOpset} or lower.");
        if (Graph.Node.Count == 0) throw new OnnxFormatException($"{Source}: the graph has no nodes.");
        var initializers = Graph.Initializer.Select(t => t.Name).ToHashSet();
        if (!Graph.Input.Any(i => !initializers.Contains(i.Name)))
            throw new OnnxFormatException($"{Source}: the graph has no inputs.");
        if (Graph.Node.Any(n => string.IsNullOrEmpty(n.OpType)))
            throw new OnnxFormatException($"{Source}: a node has no operator type.");
        foreach (var t in Graph.Initializer) t.Validate(Source);
        foreach (var a in Graph.Node.SelectMany(n => n.Attribute)) a.T?.Validate(Source);
    }

    private void LoadExternalData(string folder)
    {
        var root = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        foreach (var t in Graph.Initializer.Where(t => t.IsExternal))
        {
            var info = t.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            if (!info.TryGetValue("location", out var location) || location.Length == 0)
                throw new OnnxFormatException($"{Source}: tensor '{t.Name}' is external but names no location.");
            if (Path.IsPathRooted(location))
                throw new OnnxFormatException($"{Source}: tensor '{t.Name}' external data location '{location}' is absolute; only paths inside the model folder are allowed.");
            var full = Path.GetFullPath(Path.Combine(root, location));
            if (!full.StartsWith(root, StringComparison.Ordinal))
                throw new OnnxFormatException($"{Source}: tensor '{t.Name}' external data location '{location}' points outside the model folder (path traversal refused).");
            if (!File.Exists(full)) throw new OnnxFormatException($"{Source}: tensor '{t.Name}' external data file '{location}' not found.");
            long offset = info.TryGetValue("offset", out var o) ? long.Parse(o) : 0;
            long expected = t.ElementCount * TensorProto.ElementSize(t.ElementType);
            long length = info.TryGetValue("length", out var l) ? long.Parse(l) : expected;
            long available = new FileInfo(full).Length - offset;
            if (offset < 0 || length != expected || length > available)
                throw new OnnxFormatException($"{Source}: tensor '{t.Name}' needs {expected} bytes of external data at offset {offset} but '{location}' holds {available}.");
            using var stream = File.OpenRead(full);
            stream.Seek(offset, SeekOrigin.Begin);
            var data = new byte[length];
            stream.ReadExactly(data);
            t.RawData = UnsafeByteOperations.UnsafeWrap(data);
            t.ClearDataLocation();
            t.ExternalData.Clear();
        }
    }
}
