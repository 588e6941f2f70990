using System.Globalization;
using System.Text.Json;
using MLNetTransfer.IO;
using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>What a run resumes from.</summary>
internal sealed record ResumeState(int NextEpoch, string Phase, List<EpochMetrics> History, double Best, int BestEpoch, int Wait);

/// <summary>
/// The training workspace: <c>metrics.csv</c>, TensorBoard events (<c>tensorboard/</c>), the last checkpoint
/// (<c>checkpoint-N/</c> named by the atomically written <c>latest</c> file, so a kill at any moment leaves either the old
/// or the new checkpoint complete; its files' sha256 are recorded and checked on resume) and the best weights
/// (<c>best/</c>, replaced by renames). <c>metrics.csv</c> is rewritten whole from the history each epoch, so after a
/// resume it holds each epoch once.
/// </summary>
internal sealed class TrainingWorkspace : IDisposable
{
    private readonly bool temporary;
    private readonly TorchSharp.Modules.SummaryWriter? tensorboard;

    /// <param name="path">The workspace folder; null for a temporary one deleted on dispose.</param>
    /// <param name="settings">Everything that decides the run (<see cref="TrainingFingerprint.Of"/>).</param>
    /// <param name="log">Told when the folder held a different run and training starts fresh.</param>
    /// <param name="temporaryRoot">Where a temporary folder goes; null for the system's temp folder.</param>
    public TrainingWorkspace(string? path, IReadOnlyDictionary<string, string> settings, Action<string>? log, string? temporaryRoot = null)
    {
        temporary = path is null;
        Folder = path ?? Path.Combine(string.IsNullOrEmpty(temporaryRoot) ? Path.GetTempPath() : temporaryRoot, "mlnettransfer-train-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
        Settings = settings;
        if (!temporary)
        {
            StartFreshIfAnotherRun(log);
            try { tensorboard = torch.utils.tensorboard.SummaryWriter(Path.Combine(Folder, "tensorboard")); }
            catch (Exception ex) when (ex is IOException or TypeInitializationException or DllNotFoundException) { tensorboard = null; }
        }
    }

    public string Folder { get; }
    private IReadOnlyDictionary<string, string> Settings { get; }
    private string MetricsCsv => Path.Combine(Folder, "metrics.csv");
    private string Latest => Path.Combine(Folder, "latest");
    private string BestFolder => Path.Combine(Folder, "best");

    /// <summary>Records the last epoch of <paramref name="history"/>: metrics.csv (all epochs) and TensorBoard scalars.</summary>
    public void Log(IReadOnlyList<EpochMetrics> history)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new CsvText("epoch", "phase", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds", "images_per_second");
        foreach (var e in history)
            csv.Row((e.Epoch + 1).ToString(inv), e.Phase, e.TrainLoss.ToString("G6", inv), e.TrainAccuracy.ToString("G6", inv),
                e.ValidationLoss.ToString("G6", inv), e.ValidationAccuracy.ToString("G6", inv), e.LearningRate.ToString("G6", inv),
                e.Seconds.ToString("F2", inv), e.ImagesPerSecond.ToString("F1", inv));
        AtomicFile.WriteAllText(MetricsCsv, csv.ToString());
        var m = history[^1];
        if (tensorboard is null) return;
        tensorboard.add_scalar("loss/train", (float)m.TrainLoss, m.Epoch + 1);
        tensorboard.add_scalar("accuracy/train", (float)m.TrainAccuracy, m.Epoch + 1);
        if (!double.IsNaN(m.ValidationLoss)) tensorboard.add_scalar("loss/validation", (float)m.ValidationLoss, m.Epoch + 1);
        if (!double.IsNaN(m.ValidationAccuracy)) tensorboard.add_scalar("accuracy/validation", (float)m.ValidationAccuracy, m.Epoch + 1);
        tensorboard.add_scalar("learning_rate", (float)m.LearningRate, m.Epoch + 1);
    }

    public void SaveCheckpoint(OnnxTorchModule body, nn.Module<Tensor, Tensor> head, optim.Optimizer optimizer, string phase, int nextEpoch,
        List<EpochMetrics> history, EarlyStopping? es)
    {
        var folder = Path.Combine(Folder, $"checkpoint-{nextEpoch}");
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(folder);
        body.save(Path.Combine(folder, "body.bin"));
        head.save(Path.Combine(folder, "head.bin"));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(Path.Combine(folder, "optimizer.bin"));
        var hashes = CheckpointFiles.ToDictionary(f => f, f => Sha256Of(Path.Combine(folder, f)));
        var state = new CheckpointState(new SortedDictionary<string, string>(Settings.ToDictionary(), StringComparer.Ordinal), nextEpoch, phase, history, es?.Best ?? 0, es?.BestEpoch ?? -1, es?.Wait ?? 0, hashes);
        AtomicFile.WriteAllText(Path.Combine(folder, "state.json"), JsonSerializer.Serialize(state, Json));
        AtomicFile.WriteAllText(Latest, Path.GetFileName(folder)); // the commit point
        foreach (var old in Directory.GetDirectories(Folder, "checkpoint-*").Where(d => d != folder)) Directory.Delete(old, true);
    }

    public ResumeState? TryResume(OnnxTorchModule body, nn.Module<Tensor, Tensor> head)
    {
        if (ReadCheckpoint() is not var (folder, state)) return null;
        // The constructor cleared a checkpoint of another run; one that differs now was written by a concurrent run.
        var changed = state.Settings is null ? "no recorded settings" : TrainingFingerprint.Differences(state.Settings, Settings);
        if (changed is not null)
            throw new InvalidOperationException($"{Folder}: another run wrote a checkpoint here while this one started ({changed}); give each run its own WorkspacePath.");
        foreach (var (file, sha) in state.Sha256 ?? [])
            if (Sha256Of(Path.Combine(folder, file)) != sha)
                throw new InvalidDataException($"{Path.Combine(folder, file)}: checkpoint file does not match its recorded sha256 (damaged on disk); delete {Folder} to train from the start.");
        body.load(Path.Combine(folder, "body.bin"));
        head.load(Path.Combine(folder, "head.bin"));
        resumedFolder = folder;
        return new ResumeState(state.NextEpoch, state.Phase, state.History, state.Best, state.BestEpoch, state.Wait);
    }

    private string? resumedFolder;

    private (string Folder, CheckpointState State)? ReadCheckpoint()
    {
        if (!File.Exists(Latest)) return null;
        var folder = Path.Combine(Folder, File.ReadAllText(Latest).Trim());
        var stateFile = Path.Combine(folder, "state.json");
        if (!File.Exists(stateFile)) return null;
        try { return (folder, JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(stateFile), Json)!); }
        catch (JsonException ex) { throw new InvalidDataException($"{stateFile}: damaged checkpoint state ({ex.Message}); delete {Folder} to train from the start.", ex); }
    }

    // A workspace that holds a run with other settings would otherwise hand this run weights trained another way.
    // latest goes first: it is the commit point, so a kill half-way through leaves no checkpoint that looks resumable.
    private void StartFreshIfAnotherRun(Action<string>? log)
    {
        if (ReadCheckpoint() is not var (_, state)) return;
        var changed = state.Settings is null ? "its checkpoint has no recorded settings (older version)" : TrainingFingerprint.Differences(state.Settings, Settings);
        if (changed is null) return;
        log?.Invoke($"{Folder} held a run with other settings ({changed}); starting fresh.");
        File.Delete(Latest);
        foreach (var old in Directory.GetDirectories(Folder, "checkpoint-*")) Directory.Delete(old, true);
        foreach (var best in new[] { BestFolder, BestFolder + ".old", BestFolder + ".new", Path.Combine(Folder, "tensorboard") })
            if (Directory.Exists(best)) Directory.Delete(best, true);
        File.Delete(MetricsCsv);
    }

    // Validation loss is NaN without validation data; JSON has no NaN, so write it as "NaN".
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public void LoadOptimizer(optim.Optimizer optimizer, string phase, ResumeState? resume)
    {
        if (resume is null || resume.Phase != phase || resumedFolder is null) return;
        var file = Path.Combine(resumedFolder, "optimizer.bin");
        if (File.Exists(file)) ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(file);
    }

    // best/ is replaced by renames (new → best, old best → best.old, then deleted): at any kill, best/ or best.old/ is whole.
    public void SaveBest(OnnxTorchModule body, nn.Module<Tensor, Tensor> head)
    {
        var staging = BestFolder + ".new";
        var previous = BestFolder + ".old";
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        Directory.CreateDirectory(staging);
        body.save(Path.Combine(staging, "body.bin"));
        head.save(Path.Combine(staging, "head.bin"));
        if (Directory.Exists(BestFolder))
        {
            if (Directory.Exists(previous)) Directory.Delete(previous, true);
            Directory.Move(BestFolder, previous);
        }
        Directory.Move(staging, BestFolder);
        if (Directory.Exists(previous)) Directory.Delete(previous, true);
    }

    public bool RestoreBest(OnnxTorchModule body, nn.Module<Tensor, Tensor> head)
    {
        var folder = File.Exists(Path.Combine(BestFolder, "head.bin")) ? BestFolder
            : File.Exists(Path.Combine(BestFolder + ".old", "head.bin")) ? BestFolder + ".old" : null;
        if (folder is null) return false;
        body.load(Path.Combine(folder, "body.bin"));
        head.load(Path.Combine(folder, "head.bin"));
        return true;
    }

    private static readonly string[] CheckpointFiles = ["body.bin", "head.bin", "optimizer.bin"];

    private static string Sha256Of(string path)
    {
        if (!File.Exists(path)) return "missing";
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    public void Dispose()
    {
        // SummaryWriter writes each event as it is added; it has nothing to close.
        if (temporary)
            try { Directory.Delete(Folder, true); } catch (IOException) { }
    }

    private sealed record CheckpointState(SortedDictionary<string, string>? Settings, int NextEpoch, string Phase, List<EpochMetrics> History, double Best, int BestEpoch, int Wait,
        Dictionary<string, string>? Sha256 = null);
}
