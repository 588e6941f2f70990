using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransfer.Featurization;

/// <summary>Embeddings of consecutive rows, <see cref="Count"/> × dimension floats.</summary>
internal sealed class FeatureBatch(float[] values, int count, int dimension, bool[]? skipped = null)
{
    public int Count => count;
    public ReadOnlySpan<float> Row(int i) => values.AsSpan(i * dimension, dimension);

    /// <summary>True when row <paramref name="i"/> could not be decoded and was skipped (its embedding is zeros).</summary>
    public bool IsSkipped(int i) => skipped is not null && skipped[i];
}

/// <summary>
/// Decodes images on a background thread (ML.NET LoadImages → ResizeImages → ExtractPixels) into batches, while ONNX
/// Runtime scores earlier batches: as many at once as the runner has sessions, handed back in row order. The queue holds
/// at most two decoded batches besides those being scored, so memory stays bounded whatever the dataset size. Cached
/// embeddings skip decoding and inference.
/// </summary>
internal sealed class BatchProducer : IDisposable
{
    private readonly FeaturizeImageTransformer owner;
    private readonly BlockingCollection<Decoded> queue = new(boundedCapacity: 2);
    private readonly CancellationTokenSource cancel = new();
    private readonly Task worker;
    private readonly EmbeddingCache? cache;
    private readonly int dimension;
    private readonly int pixelsPerImage;
    // Batches taken from the queue whose inference is running, oldest first.
    private readonly Queue<(Decoded Item, Task<float[]>? Scores)> scoring = new();
    // Called for a row whose image cannot be read or decoded, when such rows are skipped instead of failing.
    private readonly Action<long, string, Exception>? skipUndecodable;
    private long done;

    /// <param name="owner">The featurizer.</param>
    /// <param name="input">The rows to featurize.</param>
    /// <param name="skipUndecodable">
    /// Null (the default): an image that cannot be read or decoded fails the stream with a message naming it. Otherwise the
    /// row is reported here (row index, source, reason), marked skipped in its batch, and the stream goes on.
    /// </param>
    public BatchProducer(FeaturizeImageTransformer owner, IDataView input, Action<long, string, Exception>? skipUndecodable = null)
    {
        this.owner = owner;
        this.skipUndecodable = skipUndecodable;
        var options = owner.Options;
        dimension = options.Backbone.Embedding.Dimension;
        pixelsPerImage = 3 * owner.DecodeWidth * owner.DecodeHeight;
        if (options.CacheFolder is not null)
            cache = new EmbeddingCache(options.CacheFolder,
                $"{options.Backbone.CacheKey}-{owner.DecodeWidth}x{owner.DecodeHeight}-{owner.NetworkSize}{(options.FlipAverage ? "-flipavg" : "")}", dimension);
        worker = Task.Factory.StartNew(owner.BytesInput
                ? () => Produce(() => new BytesReader(input, owner, pixelsPerImage), (_, ex) => ex)
                : () => Produce(() => new PathReader(input, owner.DecodeChain.Transform(input), owner, pixelsPerImage),
                    (rowsSeen, ex) => ex is InvalidDataException or FileNotFoundException ? ex : Explain(input, rowsSeen, ex)),
            cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The next batch (inference done), or null after the last row.</summary>
    public FeatureBatch? Next()
    {
        // Keep every session busy: start inference on up to SessionCount batches before waiting for the oldest.
        var runner = owner.Runner;
        while (scoring.Count < runner.SessionCount && queue.TryTake(out var taken, Timeout.Infinite, cancel.Token))
        {
            var batch = taken; // the lambda's own copy
            var scores = batch.Error is null && batch.ComputeCount > 0
                ? Task.Run(() => runner.Run(batch.Pixels, batch.ComputeCount, owner.DecodeHeight, owner.DecodeWidth))
                : null;
            scoring.Enqueue((batch, scores));
            if (batch.Error is not null) break; // nothing comes after a failure
        }
        if (!scoring.TryDequeue(out var next)) return null;
        var item = next.Item;
        if (item.Error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(item.Error);
        var output = new float[item.Count * dimension];
        item.Cached.AsSpan(0, item.Count * dimension).CopyTo(output);
        if (next.Scores is { } pending)
        {
            float[] computed;
            try { computed = pending.GetAwaiter().GetResult(); }
            finally { item.Release(); }
            for (int j = 0; j < item.ComputeCount; j++)
            {
                var row = computed.AsSpan(j * dimension, dimension);
                // A backbone that yields NaN/Inf (broken weights, bad export) must fail here, not poison a trainer or the cache.
                if (!IsFinite(row))
                    throw new InvalidDataException($"{item.Sources[item.ComputeRows[j]]}: the backbone '{owner.Options.Backbone.Name}' " +
                        $"({owner.Options.Backbone.Asset.RelativePath}) produced non-finite (NaN or infinite) features; the model is broken for this input.");
                row.CopyTo(output.AsSpan(item.ComputeRows[j] * dimension));
                if (cache is not null && item.Keys[item.ComputeRows[j]] is { } key) cache.Write(key, row);
            }
        }
        else item.Release();
        for (int j = 0; j < item.Count; j++)
            if (item.Skipped[j]) output.AsSpan(j * dimension, dimension).Clear();
        done += item.Count;
        owner.Options.Progress?.Invoke(done);
        return new FeatureBatch(output, item.Count, dimension, item.Skipped);
    }

    private static bool IsFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Fills batches from <paramref name="open"/>'s rows: cached embeddings are read, the other rows decoded.</summary>
    private void Produce(Func<IRowReader> open, Func<long, Exception, Exception> explain)
    {
        long rowsSeen = 0;
        try
        {
            using var reader = open();
            // BatchSize images are scored at a time in all: with two sessions, two batches of half the size. Each session's
            // working memory follows its batch, so a second session costs little (the demo's peak RSS: 1.87 GB with
            // two batches of 32, the 1.1 GB of one session with two of 16) and runs as fast (docs/benchmarks.md).
            // Read from the options, not the runner: creating sessions here would report a broken model as an undecodable image.
            int sessions = owner.Options.SessionCount;
            int batchSize = Math.Max(1, (owner.Options.BatchSize + sessions - 1) / sessions);
            bool more = true;
            while (more && !cancel.IsCancellationRequested)
            {
                var batch = new Decoded(batchSize, pixelsPerImage, dimension);
                while (batch.Count < batchSize && (more = MoveNext(reader, rowsSeen, batch)))
                {
                    rowsSeen++;
                    int row = batch.Count++;
                    batch.Sources[row] = reader.Source;
                    if (batch.Skipped[row]) continue;
                    if (cache is not null)
                    {
                        var key = EmbeddingCache.KeyOf(reader.Content());
                        if (cache.TryRead(key, batch.Cached.AsSpan(row * dimension, dimension))) continue;
                        batch.Keys[row] = key;
                    }
                    try { reader.Pixels(batch.Pixels.AsSpan(batch.ComputeCount * pixelsPerImage, pixelsPerImage)); }
                    catch (InvalidDataException ex) when (skipUndecodable is not null)
                    {
                        batch.Skipped[row] = true;
                        skipUndecodable(rowsSeen - 1, reader.Source, ex);
                        continue;
                    }
                    batch.ComputeRows[batch.ComputeCount++] = row;
                }
                if (batch.Count > 0) queue.Add(batch, cancel.Token); else batch.Release();
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception ex)
        {
            try { queue.Add(Decoded.Failed(explain(rowsSeen, ex)), cancel.Token); } catch (OperationCanceledException) { }
        }
        finally { queue.CompleteAdding(); }
    }

    // A missing file is a row to skip too when skipping is on; the row still counts, so rows stay aligned with the input.
    private bool MoveNext(IRowReader reader, long rowIndex, Decoded batch)
    {
        try { return reader.MoveNext(); }
        catch (FileNotFoundException ex) when (skipUndecodable is not null)
        {
            batch.Skipped[batch.Count] = true;
            skipUndecodable(rowIndex, ex.FileName ?? reader.Source, ex);
            return true;
        }
    }

    /// <summary>One input row at a time: where it comes from, its bytes (the cache key), its decoded pixels (read only when not cached).</summary>
    private interface IRowReader : IDisposable
    {
        bool MoveNext();
        string Source { get; }
        byte[] Content();
        void Pixels(Span<float> target);
    }

    /// <summary>Image paths, decoded by ML.NET's LoadImages → ResizeImages → ExtractPixels (the saved chain's own steps).</summary>
    private sealed class PathReader : IRowReader
    {
        private readonly FeaturizeImageTransformer owner;
        private readonly int pixelsPerImage;
        private readonly DataViewRowCursor cursor;
        private readonly ValueGetter<VBuffer<float>> getPixels;
        private readonly ValueGetter<ReadOnlyMemory<char>> getPath;
        private VBuffer<float> pixels;
        private ReadOnlyMemory<char> path;

        public PathReader(IDataView input, IDataView decoded, FeaturizeImageTransformer owner, int pixelsPerImage)
        {
            this.owner = owner;
            this.pixelsPerImage = pixelsPerImage;
            var pixelColumn = decoded.Schema[FeaturizeImageTransformer.PixelColumn];
            var pathColumn = decoded.Schema[owner.Options.InputColumnName];
            cursor = decoded.GetRowCursor([pixelColumn, pathColumn]);
            getPixels = cursor.GetGetter<VBuffer<float>>(pixelColumn);
            getPath = cursor.GetGetter<ReadOnlyMemory<char>>(pathColumn);
        }

        public string Source { get; private set; } = "";

        public bool MoveNext()
        {
            if (!cursor.MoveNext()) return false;
            getPath(ref path);
            var folder = owner.Options.ImageFolder;
            Source = folder is null ? path.ToString() : Path.Combine(folder, path.ToString());
            if (!File.Exists(Source)) throw new FileNotFoundException($"{Source}: image file not found.", Source);
            return true;
        }

        public byte[] Content() => File.ReadAllBytes(Source);

        public void Pixels(Span<float> target)
        {
            try { getPixels(ref pixels); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidDataException($"{Source}: corrupt or unsupported image ({ex.GetType().Name}: {ex.Message})", ex);
            }
            if (pixels.Length != pixelsPerImage)
                throw new InvalidDataException($"{Source}: decoded to {pixels.Length} values, expected {pixelsPerImage}.");
            pixels.GetValues().CopyTo(target);
        }

        public void Dispose() => cursor.Dispose();
    }

    /// <summary>
    /// Encoded bytes, decoded by the saved chain's own steps (this library's decoding CustomMapping, then ML.NET's
    /// ResizeImages and ExtractPixels), so a batch sees exactly the pixels a PredictionEngine on the saved model sees,
    /// whatever the image's size and aspect (ResizeImages crops to the aspect; a plain resize would stretch). The steps run
    /// through the chain's row mapper, one row at a time on this thread, as a PredictionEngine runs them: a cursor over
    /// the transformed view may decode ahead on worker threads, where one bad image ends the whole cursor.
    /// </summary>
    private sealed class BytesReader : IRowReader
    {
        private readonly FeaturizeImageTransformer owner;
        private readonly int pixelsPerImage;
        private readonly DataViewRowCursor cursor;
        private readonly DataViewRow decoded;
        private readonly ValueGetter<VBuffer<byte>> getBytes;
        private readonly ValueGetter<VBuffer<float>> getPixels;
        private VBuffer<byte> value;
        private VBuffer<float> pixels;
        private long row = -1;

        public BytesReader(IDataView input, FeaturizeImageTransformer owner, int pixelsPerImage)
        {
            this.owner = owner;
            this.pixelsPerImage = pixelsPerImage;
            var mapper = owner.DecodeChain.GetRowToRowMapper(input.Schema);
            var pixelColumn = mapper.OutputSchema[FeaturizeImageTransformer.PixelColumn];
            var column = input.Schema[owner.Options.InputColumnName];
            var needed = mapper.GetDependencies([pixelColumn]).Append(column).DistinctBy(c => c.Index).ToArray();
            cursor = input.GetRowCursor(needed);
            decoded = mapper.GetRow(cursor, [pixelColumn]);
            getBytes = cursor.GetGetter<VBuffer<byte>>(column);
            getPixels = decoded.GetGetter<VBuffer<float>>(pixelColumn);
        }

        public string Source => $"{owner.Options.InputColumnName} row {row}";

        public bool MoveNext()
        {
            if (!cursor.MoveNext()) return false;
            row++;
            return true;
        }

        public byte[] Content()
        {
            getBytes(ref value);
            return value.DenseValues().ToArray();
        }

        public void Pixels(Span<float> target)
        {
            try { getPixels(ref pixels); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var reason = ex.GetBaseException().Message;
                throw new InvalidDataException($"{Source}: {(reason.StartsWith("Image column: ", StringComparison.Ordinal) ? reason["Image column: ".Length..] : $"corrupt or unsupported image ({reason})")}", ex);
            }
            if (pixels.Length != pixelsPerImage)
                throw new InvalidDataException($"{Source}: decoded to {pixels.Length} values, expected {pixelsPerImage}.");
            pixels.GetValues().CopyTo(target);
        }

        public void Dispose()
        {
            decoded.Dispose();
            cursor.Dispose();
        }
    }

    // ML.NET decodes ahead on worker threads and reports a bad image without its path: find the culprit by decoding
    // the files from the failing row on, so the error names the file.
    private Exception Explain(IDataView input, long fromRow, Exception ex)
    {
        var reason = ex.GetBaseException().Message;
        try
        {
            var options = owner.Options;
            var column = input.Schema[options.InputColumnName];
            using var cursor = input.GetRowCursor([column]);
            var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> path = default;
            for (long row = 0; cursor.MoveNext() && row < fromRow + 1024; row++)
            {
                if (row < fromRow - 1) continue;
                getPath(ref path);
                var file = options.ImageFolder is null ? path.ToString() : Path.Combine(options.ImageFolder, path.ToString());
                using var bitmap = File.Exists(file) ? SkiaSharp.SKBitmap.Decode(file) : null;
                if (bitmap is null) return new InvalidDataException($"{file}: corrupt or unsupported image ({reason})", ex);
            }
        }
        catch (Exception) when (ex is not null) { }
        return new InvalidDataException($"an image could not be decoded ({reason})", ex);
    }

    public void Dispose()
    {
        cancel.Cancel();
        try { worker.Wait(); } catch (AggregateException) { }
        // A batch is released only once its inference has stopped reading the pixels.
        while (scoring.TryDequeue(out var started))
        {
            try { started.Scores?.Wait(); } catch (AggregateException) { }
            started.Item.Release();
        }
        while (queue.TryTake(out var left)) left.Release();
        queue.Dispose();
        cancel.Dispose();
    }

    /// <summary>One decoded batch: pixels of the rows to compute, cached embeddings of the others.</summary>
    private sealed class Decoded
    {
        public Decoded(int capacity, int pixelsPerImage, int dimension)
        {
            Pixels = ArrayPool<float>.Shared.Rent(capacity * pixelsPerImage);
            Cached = ArrayPool<float>.Shared.Rent(capacity * dimension);
            ComputeRows = new int[capacity];
            Keys = new string?[capacity];
            Sources = new string[capacity];
            Skipped = new bool[capacity];
        }

        private Decoded(Exception error) { Error = error; Pixels = Cached = []; ComputeRows = []; Keys = []; Sources = []; Skipped = []; }

        public static Decoded Failed(Exception error) => new(error);

        public float[] Pixels { get; private set; }
        public float[] Cached { get; private set; }
        public int[] ComputeRows { get; }
        public string?[] Keys { get; }
        /// <summary>File path (or column and row) of each row, for error messages.</summary>
        public string[] Sources { get; }
        /// <summary>Rows whose image could not be read or decoded (only when skipping is on).</summary>
        public bool[] Skipped { get; }
        public int Count;
        public int ComputeCount;
        public Exception? Error { get; }

        public void Release()
        {
            if (Pixels.Length > 0) ArrayPool<float>.Shared.Return(Pixels);
            if (Cached.Length > 0) ArrayPool<float>.Shared.Return(Cached);
            Pixels = Cached = [];
        }
    }
}
