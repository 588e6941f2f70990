using MLNetTransfer.Backbones;

namespace MLNetTransfer.Tests.Backbones;

public class AssetResolverTests
{
    [NeedsAssets]
    [Fact]
    public void Real_model_resolves_from_the_assets_folder_and_passes_its_sha256()
    {
        var resolver = new AssetResolver(TestAssets.Root) { AllowDownload = false };
        var path = resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset);
        Assert.Equal(Path.GetFullPath(TestAssets.MobileNetV2Int8), Path.GetFullPath(path));
        Assert.Equal(BackboneCatalog.MobileNetV2Int8.Asset.Sha256, AssetResolver.Sha256Hex(path));
    }

    [Fact]
    public void Missing_assets_folder_offline_names_the_file_and_the_variable()
    {
        using var empty = new TempDir();
        var resolver = new AssetResolver(empty.Combine("does-not-exist")) { AllowDownload = false };
        var asset = BackboneCatalog.MobileNetV2Int8.Asset with { RelativePath = "models/not-there-" + Guid.NewGuid().ToString("N") + ".onnx" };
        var ex = Assert.Throws<AssetNotFoundException>(() => resolver.Resolve(asset));
        Assert.Contains(asset.RelativePath, ex.Message);
        Assert.Contains(AssetResolver.EnvironmentVariable, ex.Message);
    }

    [NeedsAssets]
    [Fact]
    public void Sha256_mismatch_is_refused_with_the_path()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("models"));
        var bytes = File.ReadAllBytes(TestAssets.MobileNetV2Int8);
        bytes[bytes.Length / 2] ^= 0xFF; // same size, one flipped byte
        File.WriteAllBytes(dir.Combine("models", "mobilenetv2-12-int8.onnx"), bytes);
        var resolver = new AssetResolver(dir.Path) { AllowDownload = false };
        var ex = Assert.Throws<AssetIntegrityException>(() => resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset));
        Assert.Contains("sha256", ex.Message);
        Assert.Contains("mobilenetv2-12-int8.onnx", ex.Message);
    }

    [NeedsAssets]
    [Fact]
    public void Truncated_model_fails_the_size_check()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("models"));
        File.WriteAllBytes(dir.Combine("models", "mobilenetv2-12-int8.onnx"), File.ReadAllBytes(TestAssets.MobileNetV2Int8)[..1000]);
        var resolver = new AssetResolver(dir.Path) { AllowDownload = false };
        var ex = Assert.Throws<AssetIntegrityException>(() => resolver.Resolve(BackboneCatalog.MobileNetV2Int8.Asset));
        Assert.Contains("1000 bytes", ex.Message);
    }

    [Fact]
    public void Catalog_lookup_is_by_name_and_lists_known_names_on_error()
    {
        Assert.Same(BackboneCatalog.MobileNetV2Int8, BackboneCatalog.Get("MobileNetV2-INT8"));
        var ex = Assert.Throws<ArgumentException>(() => BackboneCatalog.Get("vgg"));
        Assert.Contains("mobilenetv2-int8", ex.Message);
    }
}
