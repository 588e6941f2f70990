namespace MLNetTransfer.Evaluation;

/// <summary>
/// A PNG picture as the plotting helpers return it. Notebook kernels show it inline (the package's .NET Interactive
/// extension registers an HTML formatter for it); elsewhere, <see cref="Bytes"/> or the file the helper wrote.
/// </summary>
/// <param name="Bytes">The PNG file's bytes.</param>
public sealed record PngImage(byte[] Bytes)
{
    /// <summary>Reads a PNG file.</summary>
    public static PngImage FromFile(string path) => new(File.ReadAllBytes(path));

    /// <summary>An <c>img</c> element with the picture inlined as a data URI (no file needed to show it).</summary>
    public string ToHtml(string alt = "") =>
        $"<img alt=\"{System.Net.WebUtility.HtmlEncode(alt)}\" src=\"data:image/png;base64,{Convert.ToBase64String(Bytes)}\">";

    /// <inheritdoc/>
    public override string ToString() => $"PNG image, {Bytes.Length} bytes";
}
