using MLNetTransfer.Evaluation;
using MLNetTransfer.Tests.Data;
using Xunit.Abstractions;
using Behaviour = MLNetTransfer.Tests.Data.LoopbackFileServer.Behaviour;

namespace MLNetTransfer.Tests.Cli;

/// <summary>
/// The CLI on a machine with no assets folder: a model-only <c>--assets</c>, no <c>$MLNETTRANSFER_ASSETS</c>, an empty
/// cache, and the manifest pointed at a loopback server holding CIFAR-10 and MNIST archives built from real images.
/// </summary>
[Collection("heavy")]
public class FirstRunDownloadTests(ITestOutputHelper output) : IDisposable
{
    private const string Archive = "cifar-10-binary.tar.gz";
    private readonly TempDir dir = new();
    private readonly LoopbackFileServer server = new();

    public void Dispose()
    {
        server.Dispose();
        dir.Dispose();
    }

    /// <summary>
    /// An empty assets folder and the environment of a fresh machine: the demo's model (ResNet-18) comes with the library
    /// from ML.NET's NuGet package, so only CIFAR-10 has to be downloaded.
    /// </summary>
    private (string Assets, Dictionary<string, string?> Environment) FreshMachine(Dictionary<string, byte[]> served)
    {
        var assets = dir.Combine("assets");
        Directory.CreateDirectory(assets);
        var manifest = TinyDatasets.WriteManifest(dir.Combine("manifest.json"), server.BaseUrl, served);
        return (assets, new()
        {
            [TestAssets.Variable] = null,
            ["XDG_CACHE_HOME"] = dir.Combine("cache"),
            [MLNetTransfer.Backbones.AssetManifest.EnvironmentVariable] = manifest,
        });
    }

    private CliProcess.Result Log(CliProcess.Result r, string name)
    {
        output.WriteLine($"--- {name}: exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return r;
    }

    [NeedsAssets]
    [Fact]
    public void Two_demos_started_together_download_the_archive_once_and_both_train_on_it()
    {
        var (train, test) = TinyDatasets.CifarRecords();
        var archive = TinyDatasets.CifarArchive(train, test);
        server.Add(Archive, archive);
        server.Script(Archive, new Behaviour.Slow(TimeSpan.FromSeconds(5))); // long enough for the second to find the lock taken
        var (assets, env) = FreshMachine(new() { ["cifar10-binary"] = archive });

        var a = CliProcess.Start(env, "--assets", assets, "demo", "--per-class", "3", "--out", dir.Combine("a"));
        var b = CliProcess.Start(env, "--assets", assets, "demo", "--per-class", "3", "--out", dir.Combine("b"));
        var ra = Log(CliProcess.Wait(a), "a");
        var rb = Log(CliProcess.Wait(b), "b");

        Assert.Equal(0, ra.ExitCode);
        Assert.Equal(0, rb.ExitCode);
        Assert.Single(server.Requests, r => r.Path == Archive);
        Assert.Contains("waiting for another process", ra.Stderr + rb.Stderr);
        var downloader = ra.Stderr.Contains("downloading cifar10-binary [") ? ra : rb; // the bar, not the waiting note
        Assert.Contains("KiB/s", downloader.Stderr); // 130 KB over 5 s
        Assert.Contains("done", downloader.Stderr);
        foreach (var r in new[] { ra, rb }) Assert.Contains($"CIFAR-10: PNG folders in {dir.Combine("cache", "mlnettransfer", "datasets", "cifar10")}", r.Stdout);
        var ma = ClassificationReport.Load(dir.Combine("a", "metrics.json"));
        var mb = ClassificationReport.Load(dir.Combine("b", "metrics.json"));
        Assert.Equal(test.Count, ma.Count);
        Assert.Equal(10, ma.PerClass.Count);
        Assert.Equal(ma.Accuracy, mb.Accuracy, 6); // the same verified images, the same seed
        Assert.True(ma.Accuracy > 0.10, $"accuracy {ma.Accuracy}"); // 3 real images per class beat chance (0.10)
    }

    [NeedsAssets]
    [Fact]
    public void Demo_killed_mid_download_resumes_with_a_range_request_on_the_next_run()
    {
        var (train, test) = TinyDatasets.CifarRecords();
        var archive = TinyDatasets.CifarArchive(train, test);
        server.Add(Archive, archive);
        server.Script(Archive, new Behaviour.Slow(TimeSpan.FromSeconds(30)));
        var (assets, env) = FreshMachine(new() { ["cifar10-binary"] = archive });
        var partial = dir.Combine("cache", "mlnettransfer", "datasets", $".{Archive}.partial");

        var first = CliProcess.Start(env, "--assets", assets, "--quiet", "demo", "--per-class", "3", "--out", dir.Combine("a"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(File.Exists(partial) && new FileInfo(partial).Length > 0) && DateTime.UtcNow < deadline) Thread.Sleep(100);
        first.Process.Kill(entireProcessTree: true); // kill -9 in the middle of the body
        first.Process.WaitForExit();
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, archive.Length - 1);
        Assert.False(File.Exists(dir.Combine("cache", "mlnettransfer", "datasets", Archive)));

        var second = Log(CliProcess.Run(env, "--assets", assets, "--quiet", "demo", "--per-class", "3", "--out", dir.Combine("b")), "second");
        Assert.Equal(0, second.ExitCode);
        var resumed = server.Requests[^1];
        Assert.Equal(kept, resumed.RangeFrom);
        Assert.Equal(206, resumed.Status);
        Assert.Equal(archive.Length - kept, resumed.BodyBytes);
        Assert.Equal(test.Count, ClassificationReport.Load(dir.Combine("b", "metrics.json")).Count);
    }

    [NeedsAssets]
    [Fact]
    public void Offline_demo_exits_2_with_one_line_naming_the_asset_url_and_variable()
    {
        var (train, test) = TinyDatasets.CifarRecords();
        var (assets, env) = FreshMachine(new() { ["cifar10-binary"] = TinyDatasets.CifarArchive(train, test) });
        var url = server.BaseUrl + Archive;
        server.Dispose(); // connection refused: offline
        var r = Log(CliProcess.Run(env, "--assets", assets, "--quiet", "demo", "--out", dir.Combine("out")), "offline");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: CIFAR-10 not found", line);
        Assert.Contains("cifar10-binary", line);
        Assert.Contains(url, line);
        Assert.Contains(TestAssets.Variable, line);
        Assert.Contains("--assets", line);
    }

    [NeedsAssets]
    [Fact]
    public void Train_needs_a_folder_or_a_dataset_and_not_both()
    {
        var neither = CliProcess.Run("train", "--out", dir.Combine("o"));
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("--train DIR", neither.Stderr);
        Assert.Contains("--dataset cifar10|mnist", neither.Stderr);
        var both = CliProcess.Run("train", "--dataset", "cifar10", "--test", TestAssets.Cifar10Test, "--out", dir.Combine("o"));
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--dataset brings its own train and test splits", both.Stderr);
    }

    [Fact]
    public void Progress_line_shows_bytes_rate_and_time_left()
    {
        var line = MLNetTransfer.Cli.DownloadProgressLine.Format(new MLNetTransfer.Backbones.DownloadProgress(
            "cifar10-binary", "http://x/a", 81L << 20, 162L << 20, 4.5 * (1 << 20), TimeSpan.FromSeconds(75), Completed: false));
        Assert.Equal("downloading cifar10-binary [############............]  50% 81.0/162.0 MiB  4.5 MiB/s  ETA 1:15", line);
    }

    [NeedsAssets]
    [Fact]
    public void Train_dataset_mnist_downloads_quietly_and_trains_on_the_digits()
    {
        var files = TinyDatasets.MnistFiles(out var train, out var test);
        foreach (var (name, bytes) in files) server.Add(Path.GetFileName(MLNetTransfer.Backbones.AssetManifest.Default.Get(name).RelativePath), bytes);
        var (assets, env) = FreshMachine(files);
        var r = Log(CliProcess.Run(env, "--assets", assets, "--quiet", "train", "--dataset", "mnist", "--out", dir.Combine("out")), "mnist");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr.Trim()); // --quiet: no bar, no notes
        Assert.Equal(4, server.Requests.Count);
        var metrics = ClassificationReport.Load(dir.Combine("out", "metrics.json"));
        Assert.Equal(test.Count, metrics.Count);
        Assert.Equal(train.Select(m => m.Label).Distinct().Count(), metrics.Labels.Count);
    }
}
