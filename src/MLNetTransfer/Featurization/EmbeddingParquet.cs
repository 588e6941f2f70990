using Parquet.Serialization;

namespace MLNetTransfer.Featurization;

/// <summary>One featurized image as stored in Parquet: path, label and the float embedding (a list column).</summary>
public sealed class EmbeddingRecord
{
    /// <summary>Image path as given.</summary>
    public string Path { get; set; } = "";

    /// <summary>Label (class folder name), empty when unknown.</summary>
    public string Label { get; set; } = "";

    /// <summary>The embedding.</summary>
    public float[] Embedding { get; set; } = [];
}

/// <summary>
/// Writes and reads embedding files (Parquet: <c>Path</c> string, <c>Label</c> string, <c>Embedding</c> list&lt;float&gt;),
/// readable by Spark, pandas and DuckDB. Written in row groups as rows stream in; the file appears (atomic rename)
/// only when complete.
/// </summary>
public sealed class EmbeddingParquetWriter : IDisposable
{
    private readonly string target;
    private readonly string temp;
    private readonly FileStream stream;
    private readonly List<EmbeddingRecord> pending = [];
    private readonly int rowGroupSize;
    private bool any, committed;

    /// <summary>Starts a file; nothing is visible at <paramref name="path"/> until <see cref="Commit"/>.</summary>
    public EmbeddingParquetWriter(string path, int rowGroupSize = 4096)
    {
        target = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        IO.AtomicFile.RemoveStaleTemps(target); // left by a run that was killed
        temp = IO.AtomicFile.TempPathFor(target);
        stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        this.rowGroupSize = rowGroupSize;
    }

    /// <summary>Rows written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Adds a row (buffered up to one row group).</summary>
    public void Add(EmbeddingRecord record)
    {
        pending.Add(record);
        Count++;
        if (pending.Count >= rowGroupSize) Flush();
    }

    /// <summary>Writes the last row group, flushes to disk and renames the file into place.</summary>
    public void Commit()
    {
        Flush(force: true);
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        File.Move(temp, target, overwrite: true);
        committed = true;
    }

    private void Flush(bool force = false)
    {
        if (pending.Count == 0 && !(force && !any)) return;
        try { ParquetSerializer.SerializeAsync(pending, stream, new Parquet.ParquetOptions { Append = any }).GetAwaiter().GetResult(); }
        catch (Exception ex) when (ex is not IOException && ex.GetBaseException() is IOException io)
        {
            throw new IOException($"{target}: cannot write ({io.Message})", ex); // Parquet.Net hides the cause (e.g. a full disk)
        }
        any = true;
        pending.Clear();
    }

    /// <summary>Reads a whole file.</summary>
    public static IReadOnlyList<EmbeddingRecord> ReadAll(string path)
    {
        using var file = File.OpenRead(path);
        return [.. ParquetSerializer.DeserializeAsync<EmbeddingRecord>(file).GetAwaiter().GetResult().Data];
    }

    /// <summary>Deletes the temp file unless committed (a crash or error leaves nothing half-written).</summary>
    public void Dispose()
    {
        if (committed) return;
        try { stream.Dispose(); } catch (IOException) { } // e.g. a full disk refusing the last buffered bytes
        if (File.Exists(temp)) File.Delete(temp);
    }
}
