using System.Reflection;
using System.Text.Json;

namespace MLNetTransfer.Backbones;

/// <summary>
/// The catalog of external files (<c>data/manifest.json</c>, embedded in the library): for each named asset its path in
/// an assets folder, its url, size and checksum. <c>$MLNETTRANSFER_MANIFEST</c> may name a JSON file of the same shape
/// whose entries replace the built-in ones by name (a local mirror, or a test server).
/// </summary>
public sealed class AssetManifest
{
    /// <summary>The environment variable naming a manifest file whose entries replace the built-in ones.</summary>
    public const string EnvironmentVariable = "MLNETTRANSFER_MANIFEST";

    private static readonly Lazy<AssetManifest> builtIn = new(LoadBuiltIn);
    private readonly Dictionary<string, AssetInfo> entries;

    private AssetManifest(Dictionary<string, AssetInfo> entries) => this.entries = entries;

    /// <summary>The built-in manifest, with the entries of <c>$MLNETTRANSFER_MANIFEST</c> (read on each call) laid over it.</summary>
    public static AssetManifest Default
    {
        get
        {
            var overrides = Environment.GetEnvironmentVariable(EnvironmentVariable);
            return string.IsNullOrWhiteSpace(overrides) ? builtIn.Value : builtIn.Value.With(Load(overrides));
        }
    }

    /// <summary>The names of all entries.</summary>
    public IEnumerable<string> Names => entries.Keys;

    /// <summary>The entry named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such entry; the message lists the known names.</exception>
    public AssetInfo Get(string name) => entries.TryGetValue(name, out var asset) ? asset
        : throw new ArgumentException($"No asset named '{name}' in the manifest. Known: {string.Join(", ", entries.Keys)}.", nameof(name));

    /// <summary>This manifest with <paramref name="overrides"/>' entries replacing or adding to its own, by name.</summary>
    public AssetManifest With(AssetManifest overrides)
    {
        var merged = new Dictionary<string, AssetInfo>(entries, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, asset) in overrides.entries) merged[name] = asset;
        return new(merged);
    }

    /// <summary>Reads a manifest file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not a manifest (the message names the file and the entry).</exception>
    public static AssetManifest Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: manifest not found ({EnvironmentVariable}?).", path);
        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    /// <summary>Parses manifest JSON: <c>{"assets": [{"name", "path", "url", "size", "sha256", "md5", "download"}]}</c>.</summary>
    /// <exception cref="InvalidDataException">Malformed; the message names <paramref name="source"/> and the entry.</exception>
    public static AssetManifest Parse(Stream json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException ex) { throw new InvalidDataException($"{source}: not valid JSON ({ex.Message}).", ex); }
        using (doc)
        {
            if (!doc.RootElement.TryGetProperty("assets", out var assets) || assets.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{source}: no \"assets\" array.");
            var result = new Dictionary<string, AssetInfo>(StringComparer.OrdinalIgnoreCase);
            foreach (var e in assets.EnumerateArray())
            {
                var name = Text(e, "name") ?? throw new InvalidDataException($"{source}: an asset has no \"name\".");
                var path = Text(e, "path") ?? throw new InvalidDataException($"{source}: asset '{name}' has no \"path\".");
                bool downloadable = !e.TryGetProperty("download", out var d) || d.ValueKind != JsonValueKind.False;
                long? size = e.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
                result[name] = new AssetInfo(path, downloadable ? Text(e, "url") : null, size, Text(e, "sha256")?.ToLowerInvariant())
                {
                    Md5 = Text(e, "md5")?.ToLowerInvariant(),
                    Name = name,
                };
            }
            return new(result);
        }
    }

    private static string? Text(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } text ? text : null;

    private static AssetManifest LoadBuiltIn()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("MLNetTransfer.manifest.json")
            ?? throw new InvalidOperationException("MLNetTransfer.dll was built without its embedded data/manifest.json.");
        return Parse(stream, "data/manifest.json (embedded)");
    }
}
