using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using SkiaSharp;

namespace MLNetTransfer.Tests.Data;

public class ImageFolderTests
{
    private static void Save(SKBitmap bitmap, string path, SKEncodedImageFormat format)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static SKBitmap Solid(SKColorType type, SKColor color, SKAlphaType alpha = SKAlphaType.Premul)
    {
        var bitmap = new SKBitmap(new SKImageInfo(8, 8, type, alpha));
        bitmap.Erase(color);
        return bitmap;
    }

    [NeedsAssets]
    [Fact]
    public void Scan_of_a_messy_tree_keeps_good_images_and_reports_the_rest()
    {
        using var dir = new TempDir();
        var root = dir.Combine("data set ü");
        foreach (var c in new[] { "cat", "dog", "empty" }) Directory.CreateDirectory(Path.Combine(root, c));
        using (var rgba = Solid(SKColorType.Rgba8888, new SKColor(255, 0, 0, 128))) Save(rgba, Path.Combine(root, "cat", "alpha.png"), SKEncodedImageFormat.Png);
        using (var gray = Solid(SKColorType.Gray8, new SKColor(90, 90, 90), SKAlphaType.Opaque)) Save(gray, Path.Combine(root, "cat", "gray.jpg"), SKEncodedImageFormat.Jpeg);
        File.Copy(Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "dog")).Order().First(), Path.Combine(root, "dog", "real.JPG"));
        File.WriteAllBytes(Path.Combine(root, "dog", "pixel.gif"), Convert.FromHexString( // 1x1 transparent GIF89a
            "47494638396101000100800000FFFFFF00000021F90401000000002C00000000010001000002024401003B"));
        File.WriteAllBytes(Path.Combine(root, "dog", "zero.jpg"), []);
        File.WriteAllText(Path.Combine(root, "dog", "text.jpg"), "hello");
        File.WriteAllText(Path.Combine(root, "dog", "notes.txt"), "ignored: not an image extension");
        Directory.CreateSymbolicLink(Path.Combine(root, "dog", "loop"), Path.Combine(root, "dog"));

        var listing = ImageFolder.Scan(root);
        Assert.Equal(["cat", "dog"], listing.Classes);
        Assert.Equal(["alpha.png", "gray.jpg", "pixel.gif", "real.JPG"], listing.Images.Select(i => Path.GetFileName(i.Path)));
        Assert.Equal(["cat", "cat", "dog", "dog"], listing.Images.Select(i => i.Label));
        Assert.Equal(2, listing.Skipped.Count);
        Assert.Contains(listing.Skipped, s => s.Path.EndsWith("zero.jpg") && s.Reason.Contains("zero-byte"));
        Assert.Contains(listing.Skipped, s => s.Path.EndsWith("text.jpg") && s.Reason.Contains("not a readable image"));
        Assert.Contains(listing.Warnings, w => w.Contains("'empty'"));
        Assert.Contains(listing.Warnings, w => w.Contains("symbolic link"));
    }

    [NeedsAssets]
    [Fact]
    public void Missing_root_and_root_without_class_folders_are_clear_errors()
    {
        using var dir = new TempDir();
        Assert.Contains("nope", Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Scan(dir.Combine("nope"))).Message);
        File.Copy(Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, "cat")).First(), dir.Combine("a.jpg"));
        Assert.Contains("sub-folder per class", Assert.Throws<InvalidDataException>(() => ImageFolder.Scan(dir.Path)).Message);
    }

    [NeedsAssets]
    [Fact]
    public void Seeded_per_class_subset_of_real_cifar_is_deterministic()
    {
        var a = ImageFolder.Scan(TestAssets.Cifar10Train, new ImageFolderOptions { MaxPerClass = 100, Seed = 7, ValidateImages = false }).Images;
        var b = ImageFolder.Scan(TestAssets.Cifar10Train, new ImageFolderOptions { MaxPerClass = 100, Seed = 7, ValidateImages = false }).Images;
        var c = ImageFolder.Scan(TestAssets.Cifar10Train, new ImageFolderOptions { MaxPerClass = 100, Seed = 8, ValidateImages = false }).Images;
        Assert.Equal(1000, a.Count);
        Assert.All(a.GroupBy(i => i.Label), g => Assert.Equal(100, g.Count()));
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(i => i.Path), c.Select(i => i.Path));
    }

    [NeedsAssets]
    [Fact]
    public void LoadImagesFromDirectory_gives_path_and_label_columns()
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadImagesFromDirectory(TestAssets.Cifar10Test, new ImageFolderOptions { MaxPerClass = 3 });
        Assert.Equal(30, view.GetRowCount() ?? view.GetColumn<string>("Label").Count());
        Assert.Equal(TextDataViewType.Instance, view.Schema[ImageColumns.Path].Type);
        Assert.Equal(10, view.GetColumn<string>(ImageColumns.Label).Distinct().Count());
    }

    [Fact]
    public void Grayscale_and_alpha_images_decode_to_rgb()
    {
        using var dir = new TempDir();
        using (var gray = Solid(SKColorType.Gray8, new SKColor(90, 90, 90), SKAlphaType.Opaque)) Save(gray, dir.Combine("g.png"), SKEncodedImageFormat.Png);
        using (var rgba = Solid(SKColorType.Rgba8888, new SKColor(10, 200, 30, 255))) Save(rgba, dir.Combine("a.png"), SKEncodedImageFormat.Png);
        var g = RawImage.DecodeToPlanes(File.ReadAllBytes(dir.Combine("g.png")), "g.png", out int w, out int h);
        Assert.Equal((8, 8), (w, h));
        Assert.All(g, v => Assert.Equal(90, v));
        var a = RawImage.DecodeToPlanes(File.ReadAllBytes(dir.Combine("a.png")), "a.png", out _, out _);
        Assert.Equal([10, 200, 30], new[] { a[0], a[64], a[128] });
        Assert.Contains("bad.png", Assert.Throws<InvalidDataException>(() => RawImage.DecodeToPlanes([1, 2, 3], "bad.png", out _, out _)).Message);
    }
}
