using Microsoft.ML.OnnxRuntime;

namespace MLNetTransfer.Featurization;

/// <summary>
/// One ONNX Runtime session reused for every batch: float [N,3,H,W] in, float [N,D] out.
/// <see cref="Run"/> may be called from several threads at once (ORT sessions are thread-safe and each call uses its own
/// buffers); <see cref="Dispose"/> waits for calls in flight and later calls throw <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed class OnnxBatchRunner : IDisposable
{
    private readonly InferenceSession session;
    // One RunOptions for the session's life. A RunOptions created per call and never referenced after OrtRun starts
    // is garbage as soon as its native handle has been read: a GC during the native call finalizes it, ORT's worker
    // threads then read freed memory, and the process dies with SIGSEGV or SIGFPE. That happened whenever another thread
    // allocated enough to trigger a GC during a batch (busy machines, trainers running beside the featurizer).
    private readonly RunOptions runOptions = new();
    private readonly string inputName;
    private readonly string outputName;
    // Calls in flight; Dispose must not release the native session under a running call.
    private readonly ReaderWriterLockSlim lifetime = new(LockRecursionPolicy.NoRecursion);
    private bool disposed;

    /// <summary>Creates the session from model bytes.</summary>
    /// <param name="model">The ONNX model (one float image input, one float [N,D] output).</param>
    /// <param name="threads">Intra-op threads; the default uses every core.</param>
    public OnnxBatchRunner(byte[] model, int threads = 0)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        // Spinning ORT workers starve the decoding thread between batches: measured 386 → 434–448 img/s on 2 cores.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        session = new InferenceSession(model, options);
        inputName = session.InputMetadata.Keys.Single();
        outputName = session.OutputMetadata.Keys.First();
        var dims = session.OutputMetadata[outputName].Dimensions;
        OutputDimension = dims.Length >= 2 && dims[^1] > 0 ? dims[^1] : 0;
    }

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
            long[] shape = [n, 3, height, width];
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(pixels, 0, count), shape);
            using var outputs = session.Run(runOptions, [inputName], [input], [outputName]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
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
            session.Dispose();
            runOptions.Dispose();
        }
        finally { lifetime.ExitWriteLock(); }
    }
}
