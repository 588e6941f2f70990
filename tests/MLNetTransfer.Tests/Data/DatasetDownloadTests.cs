using System.Security.Cryptography;
using MLNetTransfer.Backbones;
using MLNetTransfer.Data;
using MLNetTransfer.Tests.Reliability;
using Behaviour = MLNetTransfer.Tests.Data.LoopbackFileServer.Behaviour;

namespace MLNetTransfer.Tests.Data;

/// <summary>
/// First use of CIFAR-10 and MNIST with no assets folder: the official archives come from a loopback server built from
/// real images, through every failure a real network produces. Each case ends in a verified file or a clear error, and
/// nothing unverified is ever read.
/// </summary>
[NeedsAssets]
public class DatasetDownloadTests : IDisposable
{
    private const string Archive = "cifar-10-binary.tar.gz";
    private static readonly Lazy<(List<Cifar10Record> Train, List<Cifar10Record> Test, byte[] Archive)> cifar = new(() =>
    {
        var (train, test) = TinyDatasets.CifarRecords();
        return (train, test, TinyDatasets.CifarArchive(train, test));
    });

    private readonly TempDir dir = new();
    private readonly LoopbackFileServer server = new();
    private readonly List<string> log = [];
    private readonly AssetManifest manifest;

    public DatasetDownloadTests()
    {
        server.Add(Archive, cifar.Value.Archive);
        manifest = AssetManifest.Load(TinyDatasets.WriteManifest(dir.Combine("manifest.json"), server.BaseUrl,
            new Dictionary<string, byte[]> { ["cifar10-binary"] = cifar.Value.Archive }));
    }

    public void Dispose()
    {
        server.Dispose();
        dir.Dispose();
    }

    private string Cache => dir.Combine("cache");

    /// <summary>No assets folder (an empty one, the variable ignored), a private cache, fast retries.</summary>
    private AssetResolver Resolver(int attempts = 3, bool download = true, AssetManifest? with = null, Action<DownloadProgress>? progress = null,
        TimeSpan? readTimeout = null) =>
        new(dir.Combine("no-assets"))
        {
            UseEnvironmentVariable = false,
            CacheFolder = Cache,
            AllowDownload = download,
            Manifest = AssetManifest.Default.With(with ?? manifest),
            Download = new DownloadOptions
            {
                MaxAttempts = attempts, RetryDelay = TimeSpan.FromMilliseconds(20), ReadTimeout = readTimeout ?? TimeSpan.FromSeconds(10),
                Log = m => { lock (log) log.Add(m); },
                Progress = progress,
            },
        };

    private int ArchiveRequests => server.Requests.Count(r => r.Path == Archive);

    /// <summary>Nothing of CIFAR-10 is in the cache except, at most (a dropped connection), the hidden partial download.</summary>
    private void AssertNothingUsableKept(bool partialMayRemain = true)
    {
        if (!partialMayRemain && Directory.Exists(Path.Combine(Cache, "datasets")))
            Assert.Empty(Directory.GetFiles(Path.Combine(Cache, "datasets"), "*.partial"));
        Assert.False(File.Exists(Path.Combine(Cache, "datasets", Archive)));
        Assert.False(Directory.Exists(Path.Combine(Cache, Cifar10.BatchesPath)));
        Assert.False(Directory.Exists(Path.Combine(Cache, Cifar10.ImageFoldersPath)));
        Assert.Throws<AssetNotFoundException>(() => Cifar10.Locate(Resolver(download: false)));
    }

    [Fact]
    public void Clean_download_is_verified_extracted_and_reads_back_pixel_identical_then_works_offline()
    {
        var progress = new List<DownloadProgress>();
        var resolver = Resolver(progress: progress.Add);
        var splits = Cifar10.Load(resolver);

        Assert.Equal(10 * TinyDatasets.TrainPerClass, splits.Train.Count);
        Assert.Equal(10 * TinyDatasets.TestPerClass, splits.Test.Count);
        Assert.Equal(Cifar10Binary.ClassNames.Order(StringComparer.Ordinal), splits.Train.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal));
        // The first training record (batch 1, record 0) is file 00000.png of its class, lossless.
        var first = cifar.Value.Train[0];
        var png = Path.Combine(splits.Folders.TrainDir, Cifar10Binary.ClassNames[first.Label], "00000.png");
        Assert.Equal(first.Pixels, RawImage.DecodeToPlanes(File.ReadAllBytes(png), png, out _, out _));
        var lastTest = cifar.Value.Test[^1];
        var lastPng = Path.Combine(splits.Folders.TestDir, Cifar10Binary.ClassNames[lastTest.Label], $"{cifar.Value.Test.Count - 1:D5}.png");
        Assert.Equal(lastTest.Pixels, RawImage.DecodeToPlanes(File.ReadAllBytes(lastPng), lastPng, out _, out _));

        var kept = Path.Combine(Cache, "datasets", Archive);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(cifar.Value.Archive)), Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(kept))));
        Assert.Equal(cifar.Value.Train.Count, Cifar10Binary.LoadDirectory(Cifar10.LocateBatches(resolver), train: true).Count());
        Assert.Equal(1, ArchiveRequests);
        Assert.True(progress[^1].Completed);
        Assert.Equal(cifar.Value.Archive.Length, progress[^1].Received);
        Assert.Equal(cifar.Value.Archive.Length, progress[^1].Total);
        Assert.Empty(Directory.GetFiles(Path.Combine(Cache, "datasets"), "*.partial", SearchOption.AllDirectories));

        server.Dispose(); // later calls are offline
        var again = Cifar10.Load(Resolver(download: false));
        Assert.Equal(splits.Train, again.Train);
        Assert.Equal(1, ArchiveRequests);
    }

    [Fact]
    public void Truncated_body_fails_its_size_check_every_attempt_and_nothing_is_kept()
    {
        int half = cifar.Value.Archive.Length / 2;
        server.Script(Archive, new Behaviour.ShortBody(half), new Behaviour.ShortBody(half), new Behaviour.ShortBody(half));
        var ex = Assert.Throws<AssetIntegrityException>(() => Cifar10.Locate(Resolver(attempts: 3)));
        Assert.Contains($"size {half} bytes, expected {cifar.Value.Archive.Length}", ex.Message);
        Assert.Contains(server.BaseUrl + Archive, ex.Message);
        Assert.Contains("Nothing was kept", ex.Message);
        Assert.Equal(3, ArchiveRequests);
        AssertNothingUsableKept(partialMayRemain: false);
    }

    [Fact]
    public void Wrong_checksum_is_refused_naming_md5_and_nothing_is_kept()
    {
        server.Script(Archive, new Behaviour.Corrupt(), new Behaviour.Corrupt());
        var ex = Assert.Throws<AssetIntegrityException>(() => Cifar10.Locate(Resolver(attempts: 2)));
        Assert.Contains("md5", ex.Message);
        Assert.Contains(manifest.Get("cifar10-binary").Md5!, ex.Message);
        Assert.Contains("cifar10-binary", ex.Message);
        Assert.Equal(2, ArchiveRequests);
        AssertNothingUsableKept(partialMayRemain: false);
    }

    [Fact]
    public void Http_500_is_retried_with_backoff_then_succeeds()
    {
        server.Script(Archive, new Behaviour.Status(500), new Behaviour.Status(503));
        var folders = Cifar10.Locate(Resolver(attempts: 3));
        Assert.Equal(10, Directory.GetDirectories(folders.TrainDir).Length);
        Assert.Equal([500, 503, 200], server.Requests.Select(r => r.Status));
        Assert.Contains(log, l => l.Contains("HTTP 500") && l.Contains("attempt 2 of 3"));
        Assert.Contains(log, l => l.Contains("HTTP 503") && l.Contains("attempt 3 of 3"));
    }

    [Fact]
    public void Permanent_http_error_is_not_retried_and_names_the_url()
    {
        server.Script(Archive, new Behaviour.Status(404));
        var ex = Assert.Throws<AssetNotFoundException>(() => Cifar10.Locate(Resolver(attempts: 4)));
        Assert.Contains("HTTP 404", ex.Message);
        Assert.Equal(1, ArchiveRequests);
    }

    [Fact]
    public void Connection_dropped_mid_file_leaves_a_partial_that_the_next_run_resumes_with_a_range_request()
    {
        int cut = cifar.Value.Archive.Length / 3;
        server.Script(Archive, new Behaviour.DropAfter(cut));
        var ex = Assert.Throws<AssetNotFoundException>(() => Cifar10.Locate(Resolver(attempts: 1))); // an interrupted run
        Assert.Contains("connection", ex.Message);
        Assert.Contains(server.BaseUrl + Archive, ex.Message);
        var partial = Path.Combine(Cache, "datasets", $".{Archive}.partial");
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, cut);
        AssertNothingUsableKept();

        var folders = Cifar10.Locate(Resolver()); // the next run
        var resumed = server.Requests[^1];
        Assert.Equal(kept, resumed.RangeFrom);
        Assert.Equal(206, resumed.Status);
        Assert.Equal(cifar.Value.Archive.Length - kept, resumed.BodyBytes);
        Assert.Contains(log, l => l.Contains($"resuming at {kept:N0} bytes"));
        Assert.Equal(cifar.Value.Archive, File.ReadAllBytes(Path.Combine(Cache, "datasets", Archive)));
        Assert.Equal(10 * TinyDatasets.TestPerClass, ImageFolder.Scan(folders.TestDir).Images.Count);
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public void Dropped_connection_within_one_run_is_resumed_by_the_retry()
    {
        server.Script(Archive, new Behaviour.DropAfter(1000), new Behaviour.DropAfter(5000));
        Cifar10.Locate(Resolver(attempts: 3));
        Assert.Equal([null, 1000L, 6000L], server.Requests.Select(r => r.RangeFrom));
        Assert.Equal(cifar.Value.Archive, File.ReadAllBytes(Path.Combine(Cache, "datasets", Archive)));
    }

    [Fact]
    public void Server_silent_mid_body_times_out_and_the_retry_resumes()
    {
        // The timeout is 3 s, not 1 s: on a busy CI machine the client once waited over a second for the headers or the
        // first 2000 bytes, timed out with nothing kept, and the retry rightly started from byte 0.
        server.Script(Archive, new Behaviour.Stall(2000, TimeSpan.FromSeconds(12)));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Cifar10.Locate(Resolver(attempts: 2, readTimeout: TimeSpan.FromSeconds(3)));
        // Without the read timeout the client would sit through the whole 12 s of silence; anything shorter shows it was
        // cut short (the bound is the silence itself, not a guess at how fast a busy machine finishes the rest).
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(12), $"{watch.Elapsed}: the read timeout did not cut the silence short");
        Assert.Contains(log, l => l.Contains("no data from the server for 3 s"));
        Assert.Equal([null, 2000L], server.Requests.Select(r => r.RangeFrom));
        Assert.Equal(cifar.Value.Archive, File.ReadAllBytes(Path.Combine(Cache, "datasets", Archive)));
    }

    [Fact]
    public void Offline_error_names_the_asset_the_url_and_what_to_set_instead()
    {
        int closedPort = new Uri(server.BaseUrl).Port;
        server.Dispose(); // nothing listens there any more: connection refused, as offline
        var ex = Assert.Throws<AssetNotFoundException>(() => Cifar10.Locate(Resolver(attempts: 2)));
        Assert.Contains("cifar10-binary", ex.Message);
        Assert.Contains($"http://127.0.0.1:{closedPort}/{Archive}", ex.Message);
        Assert.Contains(AssetResolver.EnvironmentVariable, ex.Message);
        Assert.Contains(Cifar10.ImageFoldersPath, ex.Message);
        Assert.Contains(Path.Combine(Cache, "datasets", Archive), ex.Message);
        AssertNothingUsableKept(partialMayRemain: false);
    }

    [Fact]
    public void Read_only_cache_folder_is_a_clear_error_before_any_request()
    {
        Directory.CreateDirectory(Cache);
        using var readOnly = ScratchMount.ReadOnly(Cache);
        var ex = Assert.Throws<AssetNotFoundException>(() => Cifar10.Locate(Resolver()));
        Assert.Contains("not writable", ex.Message);
        Assert.Contains(Path.Combine(Cache, "datasets"), ex.Message);
        Assert.Contains("XDG_CACHE_HOME", ex.Message);
        Assert.Contains(AssetResolver.EnvironmentVariable, ex.Message);
        Assert.Equal(0, ArchiveRequests);
    }

    [Fact]
    public void Full_disk_is_not_retried_and_names_the_file_and_the_cause()
    {
        Directory.CreateDirectory(Cache);
        using var tiny = ScratchMount.Tiny(Cache, 64) ?? throw new InvalidOperationException("this test needs the right to mount a tmpfs (root with CAP_SYS_ADMIN)");
        Assert.True(cifar.Value.Archive.Length > 64 * 1024, "the archive must not fit the 64 KB disk");
        var ex = Assert.Throws<AssetNotFoundException>(() => Cifar10.Locate(Resolver(attempts: 3)));
        Assert.Contains("cannot write", ex.Message);
        Assert.Contains($".{Archive}.partial", ex.Message);
        Assert.Contains(tiny.ErrorText, ex.Message);
        Assert.Equal(1, ArchiveRequests); // a full disk is not a network fault
        Assert.False(File.Exists(Path.Combine(Cache, "datasets", Archive)));
    }

    [Fact]
    public void Mnist_downloads_its_four_files_verified_and_reads_the_same_digits()
    {
        var files = TinyDatasets.MnistFiles(out var train, out var test);
        foreach (var (name, bytes) in files) server.Add(Path.GetFileName(AssetManifest.Default.Get(name).RelativePath), bytes);
        var mnistManifest = AssetManifest.Load(TinyDatasets.WriteManifest(dir.Combine("mnist.json"), server.BaseUrl, files));
        server.Script("t10k-labels-idx1-ubyte.gz", new Behaviour.Status(500)); // one transient failure on the way

        var loaded = Mnist.Load(Resolver(with: mnistManifest), train: true);
        Assert.Equal(train.Select(m => m.Label), loaded.Select(m => m.Label));
        Assert.Equal(train[5].Pixels, loaded[5].Pixels);
        Assert.Equal(test.Select(m => m.Label), Mnist.Load(Resolver(download: false, with: mnistManifest), train: false).Select(m => m.Label));
        Assert.Equal(5, server.Requests.Count); // four files, one of them twice

        var folders = Mnist.LocateImageFolders(Resolver(download: false, with: mnistManifest));
        var png = Path.Combine(folders.TestDir, test[0].Label.ToString(), "00000.png");
        var planes = RawImage.DecodeToPlanes(File.ReadAllBytes(png), png, out int w, out int h);
        Assert.Equal((28, 28), (w, h));
        Assert.Equal(test[0].Pixels, planes[..(28 * 28)]); // gray replicated: the R plane is the digit
        Assert.Equal(test.Count, ImageFolder.Scan(folders.TestDir).Images.Count);
    }

    [Fact]
    public void Built_in_manifest_agrees_with_the_catalog_and_verifies_the_cifar_archive_by_md5()
    {
        var builtIn = AssetManifest.Default;
        var model = builtIn.Get("mobilenetv2-int8");
        var catalog = BackboneCatalog.MobileNetV2Int8.Asset;
        Assert.Equal((catalog.RelativePath, catalog.Url, catalog.Size, catalog.Sha256), (model.RelativePath, model.Url, model.Size, model.Sha256));
        var archive = builtIn.Get("cifar10-binary");
        Assert.Equal(("c32a1d4ab5d03f1284b67883e8d87530", 170_052_171L), (archive.Md5, archive.Size));
        Assert.True(archive.HasChecksum);
        Assert.Equal("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", archive.Url);
        Assert.All(Mnist.FileAssets, name => Assert.NotNull(builtIn.Get(name).Md5));
    }
}
