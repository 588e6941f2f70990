namespace MLNetTransfer.Data;

/// <summary>Column names the loaders produce and the estimators expect by default.</summary>
public static class ImageColumns
{
    /// <summary>Image file path (text).</summary>
    public const string Path = "ImagePath";
    /// <summary>Encoded image bytes (vector of byte).</summary>
    public const string Bytes = "Image";
    /// <summary>Class label (text; keys after MapValueToKey).</summary>
    public const string Label = "Label";
}

/// <summary>A labelled image file.</summary>
/// <param name="Path">Full path of the file.</param>
/// <param name="Label">Its class (the folder name for folder-per-class data).</param>
public sealed record LabeledImage(string Path, string Label);

/// <summary>A file a loader passed over, and why.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">Why it was skipped (e.g. "zero-byte file").</param>
public sealed record SkippedImage(string Path, string Reason);

/// <summary>Row of an image-path IDataView: columns <c>ImagePath</c> and <c>Label</c> (text).</summary>
public sealed class ImagePathRow
{
    /// <summary>Image file path.</summary>
    public string ImagePath { get; set; } = "";
    /// <summary>Class label.</summary>
    public string Label { get; set; } = "";
}

/// <summary>Row of an in-memory IDataView: columns <c>Image</c> (encoded bytes) and <c>Label</c> (text).</summary>
public sealed class ImageBytesRow
{
    /// <summary>Encoded image (PNG, JPEG, ...).</summary>
    public byte[] Image { get; set; } = [];
    /// <summary>Class label.</summary>
    public string Label { get; set; } = "";
}
