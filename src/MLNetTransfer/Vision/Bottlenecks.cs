using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Featurization;
using MLNetTransfer.IO;

namespace MLNetTransfer.Vision;

/// <summary>
/// The frozen network's output ("bottleneck values") for each usable image, with its 0-based class, in row order.
/// Computed once per fit by the ONNX featurizer the fitted model itself runs, so training sees exactly the values the
/// model scores with; kept in a workspace file in ML.NET's text layout (class, then the values) under the names the
/// options give, behind a header line that identifies the images and the backbone so a stale file is never reused.
/// </summary>
internal sealed class Bottlenecks
{
    private const string HeaderPrefix = "# MLNetTransfer bottleneck values v1 ";

    public Bottlenecks(float[][] features, int[] labels)
    {
        Features = features;
        Labels = labels;
    }

    /// <summary>One embedding per usable image.</summary>
    public float[][] Features { get; }

    /// <summary>The 0-based class of each row of <see cref="Features"/>.</summary>
    public int[] Labels { get; }

    public int Count => Labels.Length;

    /// <summary>The rows at <paramref name="indices"/>, in that order.</summary>
    public Bottlenecks Select(IReadOnlyList<int> indices) =>
        new([.. indices.Select(i => Features[i])], [.. indices.Select(i => Labels[i])]);

    /// <summary>
    /// Featurizes every row of <paramref name="data"/>. A row whose image cannot be read or decoded, or whose label is
    /// missing, is left out and reported to <paramref name="skipped"/> (row index, what, why); <paramref name="featurized"/>
    /// is called with the count of images done after each one.
    /// </summary>
    public static Bottlenecks Compute(FeaturizeImageTransformer featurizer, IDataView data, string labelColumn,
        Action<int> featurized, Action<long, string> skipped, CancellationToken cancel)
    {
        var features = new List<float[]>();
        var labels = new List<int>();
        var label = data.Schema[labelColumn];
        using var cursor = data.GetRowCursor([label]);
        var getLabel = cursor.GetGetter<uint>(label);
        // The reader's messages name the row or file already.
        using var producer = new BatchProducer(featurizer, data, (row, _, ex) => skipped(row, ex.Message));
        FeatureBatch? batch = null;
        int inBatch = 0;
        uint key = 0;
        for (long row = 0; cursor.MoveNext(); row++)
        {
            cancel.ThrowIfCancellationRequested();
            if (batch is null || ++inBatch >= batch.Count)
            {
                batch = producer.Next() ?? throw new InvalidOperationException("The image stream ended before the label rows did.");
                inBatch = 0;
            }
            if (batch.IsSkipped(inBatch)) continue;
            getLabel(ref key);
            if (key == 0)
            {
                skipped(row, $"{labelColumn} row {row}: the label is missing (a key of 0)");
                continue;
            }
            features.Add(batch.Row(inBatch).ToArray());
            labels.Add((int)key - 1);
            featurized(labels.Count);
        }
        return new([.. features], [.. labels]);
    }

    /// <summary>
    /// What identifies a cache file's source: the backbone and sizes the featurizer runs, and a checksum of every row's
    /// image bytes and label (so a reordered, edited or relabelled set is recomputed).
    /// </summary>
    public static string Fingerprint(FeaturizeImageTransformer featurizer, IDataView data, string imageColumn, string labelColumn)
    {
        var checksum = new Checksum64();
        var image = data.Schema[imageColumn];
        var label = data.Schema[labelColumn];
        using var cursor = data.GetRowCursor([image, label]);
        var getImage = cursor.GetGetter<VBuffer<byte>>(image);
        var getLabel = cursor.GetGetter<uint>(label);
        VBuffer<byte> bytes = default;
        uint key = 0;
        long rows = 0;
        Span<byte> keyBytes = stackalloc byte[4];
        while (cursor.MoveNext())
        {
            getImage(ref bytes);
            getLabel(ref key);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(keyBytes, key);
            checksum.Append(keyBytes);
            checksum.Append(bytes.GetValues());
            rows++;
        }
        var o = featurizer.Options;
        return FormattableString.Invariant(
            $"backbone={o.Backbone.CacheKey} network={featurizer.NetworkSize} decode={featurizer.DecodeWidth}x{featurizer.DecodeHeight} flip={o.FlipAverage} rows={rows} checksum={checksum.Value:x16}");
    }

    /// <summary>Writes the file atomically: a header with the fingerprint, then one line per row (class, values).</summary>
    public void Save(string path, string fingerprint) => AtomicFile.Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        writer.WriteLine(HeaderPrefix + fingerprint);
        var line = new StringBuilder();
        for (int i = 0; i < Count; i++)
        {
            line.Clear().Append(Labels[i].ToString(CultureInfo.InvariantCulture));
            foreach (var v in Features[i]) line.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
            writer.WriteLine(line);
        }
    });

    /// <summary>The values in <paramref name="path"/> when it exists and was made from the same source; else null.</summary>
    public static Bottlenecks? TryLoad(string path, string fingerprint)
    {
        if (!File.Exists(path)) return null;
        using var reader = new StreamReader(path);
        if (reader.ReadLine() != HeaderPrefix + fingerprint) return null;
        var features = new List<float[]>();
        var labels = new List<int>();
        try
        {
            for (string? line; (line = reader.ReadLine()) is not null;)
            {
                var parts = line.Split(',');
                labels.Add(int.Parse(parts[0], CultureInfo.InvariantCulture));
                features.Add([.. parts.Skip(1).Select(p => float.Parse(p, CultureInfo.InvariantCulture))]);
            }
        }
        catch (FormatException) { return null; } // damaged: compute again
        if (features.Count > 0 && features.Any(f => f.Length != features[0].Length)) return null;
        return new([.. features], [.. labels]);
    }
}
