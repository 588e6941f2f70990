using MLNetTransfer.Data;

namespace MLNetTransfer.Tests.Data;

/// <summary>A flat folder of images (no class sub-folders) is accepted where no labels are needed.</summary>
[NeedsAssets]
public class FlatFolderTests
{
    private static string FlatCopy(TempDir dir, int count)
    {
        var flat = dir.Combine("flat");
        Directory.CreateDirectory(flat);
        foreach (var img in TestAssets.CifarSubset(TestAssets.Cifar10Test, 1).Take(count))
            File.Copy(img.Path, Path.Combine(flat, img.Label + "-" + Path.GetFileName(img.Path)));
        return flat;
    }

    [Fact]
    public void A_flat_folder_scans_as_unlabelled_images_only_when_allowed()
    {
        using var dir = new TempDir();
        var flat = FlatCopy(dir, 4);
        File.WriteAllText(Path.Combine(flat, "broken.jpg"), "not an image");

        Assert.Contains("sub-folder per class", Assert.Throws<InvalidDataException>(() => ImageFolder.Scan(flat)).Message);
        var listing = ImageFolder.Scan(flat, new ImageFolderOptions { AllowUnlabeled = true });
        Assert.Equal(4, listing.Images.Count);
        Assert.All(listing.Images, i => Assert.Equal(ImageFolder.Unlabeled, i.Label));
        Assert.Equal(Directory.GetFiles(flat, "*-*.jpg").Order(StringComparer.Ordinal), listing.Images.Select(i => i.Path));
        Assert.Equal("broken.jpg", Path.GetFileName(Assert.Single(listing.Skipped).Path));
    }

    [Fact]
    public void Class_sub_folders_still_give_the_labels_when_unlabelled_images_are_allowed()
    {
        using var dir = new TempDir();
        var flat = FlatCopy(dir, 2);
        Directory.CreateDirectory(Path.Combine(flat, "cat"));
        File.Copy(TestAssets.CifarSubset(TestAssets.Cifar10Test, 1)[3].Path, Path.Combine(flat, "cat", "c.jpg"));
        var listing = ImageFolder.Scan(flat, new ImageFolderOptions { AllowUnlabeled = true });
        Assert.Equal("cat", Assert.Single(listing.Images).Label);
        Assert.Contains(listing.Warnings, w => w.Contains("directly in the root are ignored"));
    }
}
