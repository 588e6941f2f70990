using SkiaSharp;

namespace MLNetTransfer.Data;

/// <summary>Options of <see cref="ImageFolder.Scan"/>.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>Open each file's header to skip unreadable ones (zero-byte, text named .jpg, unknown format). Default true.</summary>
    public bool ValidateImages { get; init; } = true;

    /// <summary>Follow symbolic links to folders (cycles are detected and skipped). Default false.</summary>
    public bool FollowSymlinks { get; init; }

    /// <summary>Keep a seeded stratified sample of at most this many images per class. Default null (all).</summary>
    public int? MaxPerClass { get; init; }

    /// <summary>Seed of the sample. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Images with more pixels are skipped unread (a 12000×12000 image needs 576 MB decoded: a decompression bomb).
    /// Default <see cref="ImageFolder.DefaultMaxImagePixels"/> (100 megapixels).
    /// </summary>
    public long MaxImagePixels { get; init; } = ImageFolder.DefaultMaxImagePixels;

    /// <summary>
    /// Accept a flat folder of images with no class sub-folders, for work that needs no labels (featurizing, finding
    /// neighbours, predicting): its images get the label <see cref="ImageFolder.Unlabeled"/> (empty). Sub-folders, when
    /// there are any, still give the labels. Default false (training needs labels).
    /// </summary>
    public bool AllowUnlabeled { get; init; }
}

/// <summary>The result of scanning a folder-per-class tree.</summary>
/// <param name="Root">The scanned folder.</param>
/// <param name="Images">Usable images, ordered by class then file name (ordinal).</param>
/// <param name="Classes">Class names with at least one usable image, sorted ordinally.</param>
/// <param name="Skipped">Files passed over, with the reason.</param>
/// <param name="Warnings">Other findings (empty class folders, stray files in the root).</param>
public sealed record ImageFolderListing(string Root, IReadOnlyList<LabeledImage> Images, IReadOnlyList<string> Classes,
    IReadOnlyList<SkippedImage> Skipped, IReadOnlyList<string> Warnings);

/// <summary>Folder-per-class image datasets: <c>root/CLASS/*.jpg</c>, the label being the folder name.</summary>
public static class ImageFolder
{
    /// <summary>The default pixel limit of <see cref="Check(string, long)"/>: 100 megapixels.</summary>
    public const long DefaultMaxImagePixels = 100_000_000;

    /// <summary>The label of images from a flat folder (<see cref="ImageFolderOptions.AllowUnlabeled"/>): empty.</summary>
    public const string Unlabeled = "";

    /// <summary>File extensions read as images (case-insensitive).</summary>
    public static IReadOnlySet<string> Extensions { get; } =
        new HashSet<string>([".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Lists the labelled images under <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No class folder holds a usable image.</exception>
    public static ImageFolderListing Scan(string root, ImageFolderOptions? options = null)
    {
        options ??= new();
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: image folder not found.");
        var full = Path.GetFullPath(root);
        var images = new List<LabeledImage>();
        var skipped = new List<SkippedImage>();
        var warnings = new List<string>();

        var rootImages = Directory.EnumerateFiles(full).Where(f => Extensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
        foreach (var dir in Directory.EnumerateDirectories(full).Order(StringComparer.Ordinal))
        {
            var info = new DirectoryInfo(dir);
            if (info.LinkTarget is not null && !options.FollowSymlinks) { warnings.Add($"{dir}: symbolic link not followed"); continue; }
            var files = EnumerateFiles(dir, options.FollowSymlinks, warnings).Where(f => Extensions.Contains(Path.GetExtension(f))).ToList();
            if (AddUsable(files, info.Name, options, images, skipped) == 0) warnings.Add($"{dir}: class folder '{info.Name}' has no usable image; class left out");
        }
        if (images.Count == 0 && options.AllowUnlabeled && rootImages.Count > 0)
            AddUsable(rootImages, Unlabeled, options, images, skipped);
        else if (rootImages.Count > 0)
            warnings.Add($"{root}: image files directly in the root are ignored (labels come from sub-folders)");
        if (images.Count == 0)
            throw new InvalidDataException(rootImages.Count > 0 && !options.AllowUnlabeled
                ? $"{root}: images lie directly in the folder; put them in one sub-folder per class (e.g. {root}/cat/1.jpg)."
                : $"{root}: no {(options.AllowUnlabeled ? "" : "class folder with a ")}usable image ({skipped.Count} files skipped).");

        IReadOnlyList<LabeledImage> result = images;
        if (options.MaxPerClass is int n) result = Stratified.Sample(images, i => i.Label, n, options.Seed);
        var classes = result.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToList();
        return new ImageFolderListing(full, result, classes, skipped, warnings);
    }

    // Validation decodes every file (cheaply, but large photos add up): spread it over the cores, keep the order.
    private static int AddUsable(List<string> files, string label, ImageFolderOptions options, List<LabeledImage> images, List<SkippedImage> skipped)
    {
        var problems = new string?[files.Count];
        if (options.ValidateImages) Parallel.For(0, files.Count, i => problems[i] = Check(files[i], options.MaxImagePixels));
        int added = 0;
        for (int i = 0; i < files.Count; i++)
        {
            if (problems[i] is null) { images.Add(new LabeledImage(files[i], label)); added++; }
            else skipped.Add(new SkippedImage(files[i], problems[i]!));
        }
        return added;
    }

    /// <summary>
    /// Why a file cannot be used as an image, or null when it decodes. The whole file is decoded (JPEGs at 1/8 scale,
    /// which still reads every byte), so a truncated or corrupt image is caught here, not halfway through training;
    /// images above <paramref name="maxPixels"/> are refused from their header, before any pixel is allocated.
    /// </summary>
    public static string? Check(string file, long maxPixels = DefaultMaxImagePixels)
    {
        try
        {
            var length = new FileInfo(file).Length;
            if (length == 0) return "zero-byte file";
            using var stream = File.OpenRead(file);
            using var codec = SKCodec.Create(stream, out var result);
            if (codec is null)
                return result == SKCodecResult.IncompleteInput ? "truncated: the file ends inside the image header"
                    : result == SKCodecResult.Unimplemented ? "not a readable image (unknown or unsupported format)" : $"not a readable image ({result})";
            var (width, height) = (codec.Info.Width, codec.Info.Height);
            if (width <= 0 || height <= 0) return "image has no pixels";
            if ((long)width * height > maxPixels)
                return $"{width}×{height} is {(long)width * height / 1e6:F0} megapixels, above the {maxPixels / 1e6:F0}-megapixel limit (MaxImagePixels)";
            var scaled = codec.GetScaledDimensions(1f / 8);
            var target = new SKImageInfo(Math.Max(1, scaled.Width), Math.Max(1, scaled.Height), SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var bitmap = new SKBitmap(target);
            return codec.GetPixels(target, bitmap.GetPixels()) switch
            {
                SKCodecResult.Success => null,
                SKCodecResult.IncompleteInput => "truncated: the image data ends early",
                SKCodecResult.ErrorInInput => "corrupt image data",
                var other => $"cannot be decoded ({other})",
            };
        }
        catch (IOException ex) { return $"cannot read: {ex.Message}"; }
        catch (UnauthorizedAccessException ex) { return $"cannot read: {ex.Message}"; }
    }

    private static IEnumerable<string> EnumerateFiles(string dir, bool followLinks, List<string> warnings)
    {
        // Recursion into sub-folders of a class folder, with cycle detection on resolved paths.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([dir]);
        var files = new List<string>();
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            var info = new DirectoryInfo(current);
            var resolved = info.LinkTarget is null ? info.FullName : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
            if (!seen.Add(resolved)) { warnings.Add($"{current}: symbolic link loop skipped"); continue; }
            files.AddRange(Directory.EnumerateFiles(current));
            foreach (var sub in Directory.EnumerateDirectories(current))
            {
                if (new DirectoryInfo(sub).LinkTarget is not null && !followLinks) { warnings.Add($"{sub}: symbolic link not followed"); continue; }
                stack.Push(sub);
            }
        }
        return files.Order(StringComparer.Ordinal);
    }
}
