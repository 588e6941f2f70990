using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace MLNetTransfer.Onnx;

/// <summary>
/// ML.NET's <c>ApplyOnnxModel</c> for a graph held in memory, without leaving a copy of it on disk.
/// </summary>
/// <remarks>
/// ML.NET's overload that takes a <see cref="Stream"/> copies the graph to a randomly named file under
/// <see cref="MLContext.TempFilePath"/> and never deletes it (<c>OnnxModel.CreateFromStream</c> opens that file as not its
/// own), so every fitted featurizer and every fine-tuned model used to leave one model-sized file in /tmp for good; a day
/// of test runs left 50 GB and filled the disk. The file cannot be deleted once the session is loaded either: ML.NET reads
/// it again, by name, when the model is saved. So the graph is written here, into a folder that belongs to this process,
/// and the file is deleted when its owner disposes the transformer through <see cref="Dispose"/>, when the transformer is
/// garbage-collected, or when the process exits. A process that dies without exiting (killed, or a
/// native crash) leaves its folder behind; the next process that writes a graph under the same temp path removes it,
/// knowing it is dead because the folder's lock file is no longer locked.
/// </remarks>
internal static class OnnxGraphFiles
{
    internal const string FolderName = "mlnettransfer-onnx";
    private const string LockName = ".lock";

    // A graph file lives at least as long as the ML.NET transformer that reads it; when that transformer is collected,
    // its entry goes and the file's finalizer deletes it.
    private static readonly ConditionalWeakTable<object, GraphFile> Owners = new();
    private static readonly Dictionary<string, ProcessFolder> Folders = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>ml.Transforms.ApplyOnnxModel</c> over <paramref name="graph"/>, loaded from a file this process owns.
    /// </summary>
    public static OnnxGraphEstimator ApplyOnnxModel(MLContext ml, string[] outputColumnNames, string[] inputColumnNames, byte[] graph,
        IDictionary<string, int[]>? shapeDictionary)
    {
        var file = Write(ml.TempFilePath, graph);
        try
        {
            var estimator = ml.Transforms.ApplyOnnxModel(outputColumnNames, inputColumnNames, file.Path, shapeDictionary, null, false, 100);
            return new OnnxGraphEstimator(estimator, file);
        }
        catch
        {
            file.Delete();
            throw;
        }
    }

    /// <summary>The folder this process writes its graphs to under <paramref name="tempPath"/> (created on first use).</summary>
    internal static string ProcessFolderUnder(string tempPath) => FolderFor(tempPath).Path;

    internal static void Attach(object owner, GraphFile file) => Owners.AddOrUpdate(owner, file);

    /// <summary>
    /// Disposes <paramref name="transformer"/> (ML.NET's chains dispose their steps), then deletes the graph files of every
    /// ONNX step in it, nested chains included.
    /// </summary>
    public static void Dispose(ITransformer transformer)
    {
        (transformer as IDisposable)?.Dispose();
        DeleteFilesOf(transformer);
    }

    private static void DeleteFilesOf(ITransformer transformer)
    {
        if (Owners.TryGetValue(transformer, out var file)) file.Delete();
        if (transformer is IEnumerable<ITransformer> chain)
            foreach (var step in chain) DeleteFilesOf(step);
    }

    private static GraphFile Write(string tempPath, byte[] graph)
    {
        var folder = FolderFor(tempPath);
        var path = System.IO.Path.Combine(folder.Path, Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            File.WriteAllBytes(path, graph);
        }
        catch (IOException e)
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new IOException($"{path}: could not write the {graph.Length / 1e6:0.#} MB ONNX graph that ML.NET loads its session from ({e.Message}). " +
                                  "Free space there, or point MLContext.TempFilePath (or TMPDIR) at a disk with room.", e);
        }
        return new GraphFile(path);
    }

    private static ProcessFolder FolderFor(string tempPath)
    {
        var root = System.IO.Path.Combine(System.IO.Path.GetFullPath(string.IsNullOrEmpty(tempPath) ? System.IO.Path.GetTempPath() : tempPath), FolderName);
        lock (Folders)
        {
            if (Folders.TryGetValue(root, out var existing) && Directory.Exists(existing.Path)) return existing;
            existing?.Dispose();
            Directory.CreateDirectory(root);
            RemoveFoldersOfDeadProcesses(root);
            var folder = ProcessFolder.Create(root);
            Folders[root] = folder;
            return folder;
        }
    }

    /// <summary>
    /// Deletes the folders under <paramref name="root"/> whose lock no process holds. A folder without a lock file is only
    /// removed once it is an hour old: its process may be between creating it and locking it. A folder named after a
    /// process id that is running here is kept even when its lock is free, for file systems where locks are not
    /// enforced (the lock alone decides across containers, whose process ids this one cannot see).
    /// </summary>
    internal static void RemoveFoldersOfDeadProcesses(string root)
    {
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            try
            {
                var name = System.IO.Path.GetFileName(dir);
                if (int.TryParse(name.Split('-')[0], out var pid) && IO.AtomicFile.IsAlive(pid)) continue;
                var lockPath = System.IO.Path.Combine(dir, LockName);
                if (!File.Exists(lockPath))
                {
                    if (DateTime.UtcNow - Directory.GetCreationTimeUtc(dir) > TimeSpan.FromHours(1)) Directory.Delete(dir, recursive: true);
                    continue;
                }
                using (IO.FileLock.Acquire(lockPath, TimeSpan.Zero)) { }
                Directory.Delete(dir, recursive: true);
            }
            // Locked (its process is alive), or another process is removing it at the same time.
            catch (TimeoutException) { }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>One graph file; deleted once, by whoever comes first: the owner's Dispose, the finalizer, or process exit.</summary>
    internal sealed class GraphFile
    {
        private int deleted;

        public GraphFile(string path) => Path = path;

        public string Path { get; }

        public void Delete()
        {
            if (Interlocked.Exchange(ref deleted, 1) == 1) return;
            GC.SuppressFinalize(this);
            TryDelete(Path);
        }

        ~GraphFile() => TryDelete(Path);

        private static void TryDelete(string path)
        {
            // On Windows a file ML.NET still holds open cannot be deleted; the folder goes at process exit instead.
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// This process's folder: <c>PID-RANDOM</c>, holding a lock file locked for the process's lifetime (the operating system
    /// releases the lock however the process ends), deleted with everything in it when the process exits normally.
    /// </summary>
    private sealed class ProcessFolder : IDisposable
    {
        private readonly IO.FileLock processLock;

        private ProcessFolder(string path, IO.FileLock processLock)
        {
            Path = path;
            this.processLock = processLock;
            AppDomain.CurrentDomain.ProcessExit += OnExit;
        }

        public string Path { get; }

        public static ProcessFolder Create(string root)
        {
            var path = System.IO.Path.Combine(root, $"{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.CreateDirectory(path);
            // A fresh file in a fresh folder: nobody else holds it, so this takes it at once.
            return new ProcessFolder(path, IO.FileLock.Acquire(System.IO.Path.Combine(path, LockName), TimeSpan.Zero));
        }

        public void Dispose()
        {
            AppDomain.CurrentDomain.ProcessExit -= OnExit;
            processLock.Dispose();
        }

        private void OnExit(object? sender, EventArgs e)
        {
            processLock.Dispose();
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>
/// ML.NET's <see cref="OnnxScoringEstimator"/> over a graph file of <see cref="OnnxGraphFiles"/>: fitting ties the file's
/// life to the fitted transformer.
/// </summary>
internal sealed class OnnxGraphEstimator : IEstimator<OnnxTransformer>
{
    private readonly OnnxScoringEstimator inner;
    private readonly OnnxGraphFiles.GraphFile file;

    internal OnnxGraphEstimator(OnnxScoringEstimator inner, OnnxGraphFiles.GraphFile file)
    {
        this.inner = inner;
        this.file = file;
    }

    /// <summary>Where the graph was written.</summary>
    public string FilePath => file.Path;

    /// <inheritdoc/>
    public OnnxTransformer Fit(IDataView input)
    {
        var transformer = inner.Fit(input);
        OnnxGraphFiles.Attach(transformer, file);
        return transformer;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inner.GetOutputSchema(inputSchema);
}
