using System.Diagnostics;
using System.Globalization;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Featurization;
using MLNetTransfer.Tests.Cli;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Reliability;

/// <summary>
/// Data safety under <c>kill -9</c>, a read-only output folder and a full disk, on the real CLI: nothing half-written is
/// ever visible or read back, and the next run resumes or recomputes to the result an undisturbed run gives.
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class CrashAndDiskTests(ITestOutputHelper output)
{
    private static string CopyCifar(string root, int perClass, string split = "test")
    {
        var source = split == "test" ? TestAssets.Cifar10Test : TestAssets.Cifar10Train;
        foreach (var cls in Directory.GetDirectories(source))
        {
            var target = Path.Combine(root, Path.GetFileName(cls));
            Directory.CreateDirectory(target);
            foreach (var f in Directory.GetFiles(cls).Order(StringComparer.Ordinal).Take(perClass)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        }
        return root;
    }

    private static string[] AllFiles(string root) =>
        [.. Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })];

    /// <summary>Polls until <paramref name="ready"/> holds, then sends SIGKILL; fails if the process ended first.</summary>
    private void KillWhen(CliProcess.Running run, Func<bool> ready, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!ready())
        {
            if (run.Process.HasExited)
                Assert.Fail($"the process ended (exit {run.Process.ExitCode}) before {what}; stderr: {run.Stderr}");
            if (watch.Elapsed > TimeSpan.FromMinutes(5)) { run.Process.Kill(true); Assert.Fail($"timed out waiting for {what}"); }
            Thread.Sleep(5);
        }
        run.Process.Kill(entireProcessTree: true); // SIGKILL on Linux: no finally blocks, no flushing
        run.Process.WaitForExit();
        output.WriteLine($"killed after {watch.ElapsedMilliseconds} ms, when {what}");
    }

    [Fact]
    public void Kill_during_featurize_cache_writes_then_rerun_gives_the_undisturbed_result_and_never_reads_a_bad_entry()
    {
        using var dir = new TempDir();
        var images = CopyCifar(dir.Combine("images"), 100);
        var clean = CliProcess.Run("featurize", "--images", images, "--out", dir.Combine("clean.parquet"), "--quiet");
        Assert.Equal(0, clean.ExitCode);

        string[] args = ["featurize", "--images", images, "--cache", dir.Combine("cache"), "--out", dir.Combine("out", "emb.parquet"), "--quiet"];
        string[] Entries() => Directory.Exists(dir.Combine("cache")) ? AllFiles(dir.Combine("cache")).Where(f => f.EndsWith(".emb")).ToArray() : [];
        KillWhen(CliProcess.Start(args), () => Entries().Length >= 150, "150 cache entries were written");

        Assert.False(File.Exists(dir.Combine("out", "emb.parquet")), "a killed run must not leave an output file");
        var written = Entries();
        Assert.InRange(written.Length, 150, 999);
        output.WriteLine($"{written.Length} entries before the kill; temp files left: {AllFiles(dir.Path).Count(f => f.EndsWith(".tmp"))}");

        // Damage two complete entries as a disk might: one cut short, one with a flipped bit. Neither may be read.
        var stamp = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var e in written) File.SetLastWriteTimeUtc(e, stamp);
        var cut = written[0];
        File.WriteAllBytes(cut, File.ReadAllBytes(cut)[..100]);
        var flipped = written[1];
        var bytes = File.ReadAllBytes(flipped);
        bytes[^5] ^= 0x10;
        File.WriteAllBytes(flipped, bytes);
        File.SetLastWriteTimeUtc(cut, stamp);
        File.SetLastWriteTimeUtc(flipped, stamp);

        var rerun = CliProcess.Run(args);
        output.WriteLine(rerun.Stdout + rerun.Stderr);
        Assert.Equal(0, rerun.ExitCode);
        var expected = EmbeddingParquetWriter.ReadAll(dir.Combine("clean.parquet")).ToDictionary(r => r.Path);
        var actual = EmbeddingParquetWriter.ReadAll(dir.Combine("out", "emb.parquet"));
        Assert.Equal(1000, actual.Count);
        foreach (var r in actual) Assert.Equal(expected[r.Path].Embedding, r.Embedding); // bit-identical, damaged entries included
        Assert.NotEqual(stamp, File.GetLastWriteTimeUtc(cut)); // detected and rewritten
        Assert.NotEqual(stamp, File.GetLastWriteTimeUtc(flipped));
        Assert.Equal(written.Length - 2, written.Count(e => File.GetLastWriteTimeUtc(e) == stamp)); // the rest were read, not redone
        Assert.Empty(AllFiles(dir.Path).Where(f => f.EndsWith(".tmp"))); // the killed run's temp files were swept
    }

    private static string[] ScratchTraining(string outDir) =>
    [
        "train", "--train", TestAssets.Cifar10Train, "--test", TestAssets.Cifar10Test, "--max-per-class", "60", "--strategy", "scratch",
        "--epochs", "5", "--image-size", "64", "--batch-size", "32", "--out", outDir, "--quiet",
    ];

    [Fact]
    public void Kill_during_training_then_rerun_resumes_and_ends_like_an_undisturbed_run()
    {
        using var dir = new TempDir();
        var reference = CliProcess.Run(ScratchTraining(dir.Combine("reference")));
        Assert.Equal(0, reference.ExitCode);

        var outDir = dir.Combine("killed");
        var latest = Path.Combine(outDir, "workspace", "latest");
        KillWhen(CliProcess.Start(ScratchTraining(outDir)), () => File.Exists(latest), "the first checkpoint was committed");
        Assert.False(File.Exists(Path.Combine(outDir, "model.zip")), "no model before training ends");

        var resumed = CliProcess.Run(ScratchTraining(outDir));
        output.WriteLine(resumed.Stdout + resumed.Stderr);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Matches(@"resuming: [1-4] of 5 epochs were done", resumed.Stderr);

        var epochs = File.ReadAllLines(Path.Combine(outDir, "metrics.csv")).Skip(1).Select(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture));
        Assert.Equal([1, 2, 3, 4, 5], epochs); // each epoch once, the interrupted one not doubled
        var a = ClassificationReport.Load(dir.Combine("reference", "metrics.json"));
        var b = ClassificationReport.Load(Path.Combine(outDir, "metrics.json"));
        Assert.Equal(a.Accuracy, b.Accuracy, 6);
        Assert.Equal(a.LogLoss, b.LogLoss, 5); // same weights as the run that was never killed
        Assert.Empty(AllFiles(outDir).Where(f => f.EndsWith(".tmp")));
    }

    [Fact]
    public void Kill_during_the_bottleneck_cache_write_leaves_no_cache_that_looks_complete()
    {
        using var dir = new TempDir();
        string[] args = ["train", "--train", TestAssets.Cifar10Train, "--max-per-class", "100", "--strategy", "head", "--epochs", "1",
            "--image-size", "128", "--out", dir.Combine("run"), "--quiet"];
        var workspace = dir.Combine("run", "workspace");
        bool Writing() => Directory.Exists(workspace) && Directory.EnumerateFiles(workspace, ".bottleneck-train-*.tmp").Any(f => new FileInfo(f).Length > 1 << 20);
        KillWhen(CliProcess.Start(args), Writing, "the bottleneck cache was 1 MB into its temp file");
        Assert.Empty(Directory.GetFiles(workspace, "bottleneck-*.f32")); // only the hidden temp file exists

        var rerun = CliProcess.Run(args);
        output.WriteLine(rerun.Stdout + rerun.Stderr);
        Assert.Equal(0, rerun.ExitCode);
        var cache = Assert.Single(Directory.GetFiles(workspace, "bottleneck-train-*.f32"));
        long count;
        using (var reader = new BinaryReader(File.OpenRead(cache))) count = reader.ReadInt64();
        Assert.InRange(count, 700, 720); // 1000 images − 20% test split − 10% validation
        Assert.Equal((5 + 3) * 8 + count * 1280 * sizeof(float), new FileInfo(cache).Length);
        Assert.Empty(AllFiles(dir.Path).Where(f => f.EndsWith(".tmp")));
    }

    [Fact]
    public void Read_only_output_folder_is_refused_before_any_work()
    {
        using var dir = new TempDir();
        var images = CopyCifar(dir.Combine("images"), 3);
        var readOnly = dir.Combine("ro");
        Directory.CreateDirectory(readOnly);
        using var mount = ScratchMount.ReadOnly(readOnly);
        output.WriteLine($"read-only folder by {mount.How}");

        var train = CliProcess.Run("train", "--train", images, "--out", Path.Combine(readOnly, "run"), "--quiet");
        output.WriteLine(train.Stderr);
        Assert.Equal(2, train.ExitCode);
        Assert.Contains("not writable", train.Stderr);
        Assert.Contains(readOnly, train.Stderr);
        var featurize = CliProcess.Run("featurize", "--images", images, "--out", Path.Combine(readOnly, "e.parquet"), "--quiet");
        Assert.Equal(2, featurize.ExitCode);
        Assert.Contains("not writable", featurize.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(readOnly));
    }

    [Fact]
    public void Full_disk_fails_with_exit_1_and_leaves_no_partial_file()
    {
        using var dir = new TempDir();
        var images = CopyCifar(dir.Combine("images"), 30);
        var small = dir.Combine("small");
        Directory.CreateDirectory(small);
        using var mount = ScratchMount.Tiny(small, kilobytes: 256);
        if (mount is null)
        {
            output.WriteLine("no right to mount a tmpfs here: the full disk is simulated by a write that fails midway");
            SimulatedFullDisk(small);
            return;
        }
        output.WriteLine($"full disk by {mount.How}");

        string[] featurize = ["featurize", "--images", images, "--out", Path.Combine(small, "e.parquet"), "--quiet"]; // ~1.5 MB of embeddings
        var f = CliProcess.Run(featurize);
        output.WriteLine(f.Stderr);
        Assert.Equal(1, f.ExitCode);
        Assert.Contains(mount.ErrorText, f.Stderr);
        Assert.Contains("e.parquet", f.Stderr);
        Assert.Empty(AllFiles(small));

        string[] train = ["train", "--train", images, "--out", Path.Combine(small, "run"), "--quiet"]; // model.zip holds the 3.5 MB backbone
        var t = CliProcess.Run(train);
        output.WriteLine(t.Stderr);
        Assert.Equal(1, t.ExitCode);
        Assert.Contains(mount.ErrorText, t.Stderr);
        Assert.Empty(AllFiles(small));
    }

    // Without mount rights: the same promise through the library, a stream that fails as a full disk does.
    private static void SimulatedFullDisk(string folder)
    {
        var target = Path.Combine(folder, "model.bin");
        var ex = Assert.Throws<IOException>(() => MLNetTransfer.IO.AtomicFile.Write(target, s =>
        {
            s.Write(new byte[100_000]);
            throw new IOException("No space left on device (simulated)");
        }));
        Assert.Contains("No space left", ex.Message);
        Assert.Empty(AllFiles(folder));
    }
}
