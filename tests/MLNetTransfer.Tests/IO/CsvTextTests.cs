using MLNetTransfer.IO;

namespace MLNetTransfer.Tests.IO;

public class CsvTextTests
{
    [Fact]
    public void Fields_with_commas_quotes_or_line_breaks_are_quoted_and_others_are_not()
    {
        var csv = new CsvText("path", "label").Row("/data/a,b/x.jpg", "say \"hi\"").Row("plain", "two\nlines").ToString();
        Assert.Equal("path,label\n\"/data/a,b/x.jpg\",\"say \"\"hi\"\"\"\nplain,\"two\nlines\"\n", csv);
        Assert.Throws<ArgumentException>(() => new CsvText("a", "b").Row("only one"));
    }
}
