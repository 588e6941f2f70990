namespace MLNetTransfer.Tests;

/// <summary>
/// Finds the real assets (models, CIFAR-10 JPEGs, MNIST) for integration tests.
/// Never skips: a missing folder fails the test with the reason, so CI cannot pass silently.
/// </summary>
internal static class TestAssets
{
    public const string Variable = "MLNETTRANSFER_ASSETS";

    private static readonly Lazy<string> root = new(Resolve);

    /// <summary>The assets root: $MLNETTRANSFER_ASSETS, else ../shared/assets beside the repository.</summary>
    public static string Root => root.Value;

    /// <summary>
    /// The assets root for a child process that may use it, or null when there is none (the variable unset and no
    /// ../shared/assets): unit tests start the CLI without assets. A variable naming a missing folder still fails.
    /// Reading this does not make a test need the assets (see <see cref="NeedsAssetsAttribute"/>).
    /// </summary>
    public static string? RootIfAvailable =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)) && !Directory.Exists(BesideRepository()) ? null : Root;

    public static string MobileNetV2Int8 => File("models/mobilenetv2-12-int8.onnx");
    public static string ImageNetLabels => File("models/imagenet-labels.txt");
    public static string Cifar10Train => Dir("datasets/cifar10/train");
    public static string Cifar10Test => Dir("datasets/cifar10/test");
    public static string Mnist => Dir("datasets/mnist");
    public static string PhotosDevTrain => Dir("datasets/photos-dev/train");
    public static string PhotosDevTest => Dir("datasets/photos-dev/test");

    /// <summary>
    /// The first <paramref name="perClass"/> photos (by ordinal file name) of each of <paramref name="classes"/> in a
    /// photos-dev split: real phone photos at ordinary resolution, the small set the Vision drop-in's floors are held to.
    /// </summary>
    public static IReadOnlyList<MLNetTransfer.Data.LabeledImage> PhotosSubset(string dir, int perClass, params string[] classes) =>
        [.. classes.SelectMany(c => Directory.GetFiles(Path.Combine(dir, c), "*.jpg").Order(StringComparer.Ordinal).Take(perClass)
            .Select(f => new MLNetTransfer.Data.LabeledImage(f, c)))];

    /// <summary>A seeded, stratified CIFAR-10 subset (seed 1) of <paramref name="dir"/> (train or test).</summary>
    public static IReadOnlyList<MLNetTransfer.Data.LabeledImage> CifarSubset(string dir, int perClass) =>
        MLNetTransfer.Data.ImageFolder.Scan(dir, new MLNetTransfer.Data.ImageFolderOptions { MaxPerClass = perClass, Seed = 1 }).Images;

    public static string File(string relative)
    {
        var path = Path.Combine(Root, relative);
        if (!System.IO.File.Exists(path))
            throw new FileNotFoundException($"Asset '{relative}' is missing under {Variable}={Root}.", path);
        return path;
    }

    public static string Dir(string relative)
    {
        var path = Path.Combine(Root, relative);
        if (!Directory.Exists(path) || !Directory.EnumerateFileSystemEntries(path).Any())
            throw new DirectoryNotFoundException($"Asset folder '{relative}' is missing or empty under {Variable}={Root}.");
        return path;
    }

    private static string Resolve()
    {
        // A relative value (the README's ../shared/assets) is relative to where `dotnet test` was started, not to the
        // test host's working directory (the test binaries' folder): the library's rule, shared.
        var fromEnv = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
            return MLNetTransfer.Backbones.AssetResolver.EnvironmentRoot() is { } full && Directory.Exists(full) ? full
                : !Path.IsPathRooted(fromEnv) && RepositoryRoot() is { } repo && Directory.Exists(Path.Combine(repo, fromEnv)) ? Path.GetFullPath(Path.Combine(repo, fromEnv))
                : throw new DirectoryNotFoundException($"{Variable} is set to '{fromEnv}', which does not exist (relative paths are taken from " +
                    $"the directory the command started in, {Environment.GetEnvironmentVariable("PWD") ?? Environment.CurrentDirectory}).");
        // Beside the repository: the layout CI uses.
        if (BesideRepository() is { } beside && Directory.Exists(beside)) return beside;
        throw new DirectoryNotFoundException($"Assets not found: set {Variable} to the assets folder (see README).");
    }

    private static string? BesideRepository() =>
        RepositoryRoot() is { } repo ? Path.GetFullPath(Path.Combine(repo, "..", "shared", "assets")) : null;

    /// <summary>The checkout holding these test binaries (the folder with MLNetTransfer.sln), or null.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "MLNetTransfer.sln"))) return dir.FullName;
        return null;
    }
}

/// <summary>A scratch folder deleted when the test ends.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlnt-" + Guid.NewGuid().ToString("N")[..12]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
}

/// <summary>
/// Disposes a model when the scope ends: a model ML.NET loads keeps a copy of each ONNX step in the temp folder until it
/// is disposed, and a process that exits first leaves the copies behind (a test run used to leave hundreds of MB).
/// </summary>
internal sealed class Disposal(object? target) : IDisposable
{
    public static Disposal Of(object? target) => new(target);
    public void Dispose() => (target as IDisposable)?.Dispose();
}
