using System.Text;

namespace MLNetTransfer.IO;

/// <summary>
/// CSV text by RFC 4180: a field holding a comma, a quote or a line break is quoted, with quotes doubled, so paths and
/// class names with commas read back as written (pandas, Excel, ML.NET's text loader with quoting on).
/// </summary>
internal sealed class CsvText
{
    private readonly StringBuilder text = new();
    private readonly int columns;

    public CsvText(params string[] header)
    {
        columns = header.Length;
        Row(header);
    }

    public CsvText Row(params string[] fields)
    {
        if (fields.Length != columns) throw new ArgumentException($"A CSV row needs {columns} fields; got {fields.Length}.", nameof(fields));
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) text.Append(',');
            var f = fields[i];
            if (f.AsSpan().IndexOfAny(",\"\r\n") < 0) text.Append(f);
            else text.Append('"').Append(f.Replace("\"", "\"\"")).Append('"');
        }
        text.Append('\n');
        return this;
    }

    public override string ToString() => text.ToString();
}
