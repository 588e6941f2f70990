using Microsoft.ML.OnnxRuntime;

namespace MLNetTransfer.Featurization;

/// <summary>
/// ONNX Runtime sessions reused for every batch: float [N,3,H,W] in, float [N,D] out. With more than one session, that
/// many batches run side by side, each session with its share of the threads: on 2 cores two one-thread sessions beat one
/// two-thread session by 1.15–1.45× on the int8 ResNet-18 (ORT's intra-op split of a batch-32 convolution leaves cores
/// idle at every operator boundary; separate batches do not wait for each other).
/// <see cref="Run"/> may be called from several threads at once (a call takes a free session, waiting if all are busy);
/// <see cref="Dispose"/> waits for calls in flight and later calls throw <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed class OnnxBatchRunner : IDisposable
{
    private readonly InferenceSession[] sessions;
    // One RunOptions per session for the runner's life. A RunOptions created per call and never referenced after OrtRun
    // starts is garbage as soon as its native handle has been read: a GC during the native call finalizes it, ORT's worker
    // threads then read freed memory, and the process dies with SIGSEGV or SIGFPE. That happened whenever another thread
    // allocated enough to trigger a GC during a batch (busy machines, trainers running beside the featurizer).
    private readonly RunOptions[] runOptions;
    private readonly System.Collections.Concurrent.ConcurrentBag<int> free;
    private readonly SemaphoreSlim available;
    private readonly string inputName;
    private readonly string outputName;
    // Calls in flight; Dispose must not release the native sessions under a running call.
    private readonly ReaderWriterLockSlim lifetime = new(LockRecursionPolicy.NoRecursion);
    private bool disposed;

    /// <summary>Creates the sessions from model bytes.</summary>
    /// <param name="model">The ONNX model (one float image input, one float [N,D] output).</param>
    /// <param name="threads">Threads in all; the default uses every core.</param>
    /// <param name="sessionCount">Sessions that run batches side by side, sharing <paramref name="threads"/>; default 1.</param>
    public OnnxBatchRunner(byte[] model, int threads = 0, int sessionCount = 1)
    {
        int total = threads > 0 ? threads : Environment.ProcessorCount;
        int count = Math.Clamp(sessionCount, 1, total);
        sessions = new InferenceSession[count];
        runOptions = new RunOptions[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                // Threads split as evenly as they go: 3 threads in 2 sessions are 2 + 1.
                using var options = new SessionOptions
                {
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                    IntraOpNumThreads = total / count + (i < total % count ? 1 : 0),
                    InterOpNumThreads = 1,
                };
                // Spinning ORT workers starve the decoding thread between batches: measured 386 → 434–448 img/s on 2 cores.
                options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                sessions[i] = new InferenceSession(model, options);
                runOptions[i] = new RunOptions();
            }
        }
        catch
        {
            foreach (var session in sessions) session?.Dispose();
            foreach (var run in runOptions) run?.Dispose();
            throw;
        }
        free = [.. Enumerable.Range(0, count)];
        available = new SemaphoreSlim(count, count);
        inputName = sessions[0].InputMetadata.Keys.Single();
        outputName = sessions[0].OutputMetadata.Keys.First();
        var dims = sessions[0].OutputMetadata[outputName].Dimensions;
        OutputDimension = dims.Length >= 2 && dims[^1] > 0 ? dims[^1] : 0;
    }

    /// <summary>Sessions that can run batches at the same time.</summary>
    public int SessionCount => sessions.Length;

    /// <summary>Width of the output vector (last output dimension), 0 when symbolic.</summary>
    public int OutputDimension { get; }

    /// <summary>Calls currently inside <see cref="Run"/>; lets a test dispose while a call is certainly in flight.</summary>
    internal int CallsInFlight => lifetime.CurrentReadCount;

    /// <summary>Runs a batch held in <paramref name="pixels"/> (first n·3·h·w values) and returns n·D floats.</summary>
    public float[] Run(float[] pixels, int n, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        int count = checked(n * 3 * height * width);
        if (n < 1 || count > pixels.Length)
            throw new ArgumentException($"A batch of {n} images of 3×{height}×{width} needs {count} values; the buffer holds {pixels.Length}.", nameof(pixels));
        lifetime.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            available.Wait();
            free.TryTake(out int lane); // a permit guarantees a free session
            try
            {
                long[] shape = [n, 3, height, width];
                using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(pixels, 0, count), shape);
                using var outputs = sessions[lane].Run(runOptions[lane], [inputName], [input], [outputName]);
                return outputs[0].GetTensorDataAsSpan<float>().ToArray();
            }
            finally
            {
                free.Add(lane);
                available.Release();
            }
        }
        finally { lifetime.ExitReadLock(); }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lifetime.EnterWriteLock();
        try
        {
            if (disposed) return;
            disposed = true;
            foreach (var session in sessions) session.Dispose();
            foreach (var run in runOptions) run.Dispose();
            available.Dispose();
        }
        finally { lifetime.ExitWriteLock(); }
    }
}
