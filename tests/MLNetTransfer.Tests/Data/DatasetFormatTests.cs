using Microsoft.ML;
using MLNetTransfer.Data;

namespace MLNetTransfer.Tests.Data;

public class DatasetFormatTests
{
    [NeedsAssets]
    [Fact]
    public void Cifar_binary_batch_generated_from_real_jpegs_reads_back_pixel_identical()
    {
        using var dir = new TempDir();
        var sources = Cifar10Binary.ClassNames.SelectMany((name, label) =>
            Directory.GetFiles(Path.Combine(TestAssets.Cifar10Test, name)).Order().Take(2).Select(f => (f, label))).ToList();
        var records = sources.Select(s => new Cifar10Record(s.label, RawImage.DecodeToPlanes(File.ReadAllBytes(s.f), s.f, out _, out _))).ToList();
        Cifar10Binary.Write(dir.Combine("data_batch_1.bin"), records.Take(12));
        Cifar10Binary.Write(dir.Combine("test_batch.bin"), records.Skip(12));
        Assert.Equal(12 * Cifar10Binary.RecordSize, new FileInfo(dir.Combine("data_batch_1.bin")).Length);

        var train = Cifar10Binary.LoadDirectory(dir.Path, train: true).ToList();
        Assert.Equal(records.Take(12).Select(r => r.Label), train.Select(r => r.Label));
        for (int i = 0; i < 12; i++) Assert.Equal(records[i].Pixels, train[i].Pixels);

        var view = new MLContext(1).Data.LoadCifar10Binary(dir.Path, train: false);
        var rows = new MLContext(1).Data.CreateEnumerable<ImageBytesRow>(view, reuseRowObject: false).ToList();
        Assert.Equal(8, rows.Count);
        Assert.Equal(records[12].Pixels, RawImage.DecodeToPlanes(rows[0].Image, "row0", out _, out _)); // PNG is lossless
        Assert.Equal(Cifar10Binary.ClassNames[records[12].Label], rows[0].Label);
    }

    [Fact]
    public void Cifar_batch_with_a_partial_record_or_bad_label_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("short.bin"), new byte[Cifar10Binary.RecordSize + 5]);
        Assert.Contains("short.bin", Assert.Throws<InvalidDataException>(() => Cifar10Binary.Read(dir.Combine("short.bin")).ToList()).Message);
        var bad = new byte[Cifar10Binary.RecordSize];
        bad[0] = 12;
        File.WriteAllBytes(dir.Combine("label.bin"), bad);
        Assert.Contains("label 12", Assert.Throws<InvalidDataException>(() => Cifar10Binary.Read(dir.Combine("label.bin")).ToList()).Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".gz")]
    public void Mnist_idx_round_trips_raw_and_gzipped(string suffix)
    {
        using var dir = new TempDir();
        var images = Enumerable.Range(0, 5).Select(i => Enumerable.Range(0, 28 * 28).Select(p => (byte)((p * (i + 1)) % 256)).ToArray()).ToList();
        byte[] labels = [3, 1, 4, 1, 5];
        MnistIdx.WriteImages(dir.Combine("train-images-idx3-ubyte" + suffix), images, 28, 28);
        MnistIdx.WriteLabels(dir.Combine("train-labels-idx1-ubyte" + suffix), labels);
        var loaded = MnistIdx.Load(dir.Path, train: true);
        Assert.Equal(labels.Select(l => (int)l), loaded.Select(m => m.Label));
        for (int i = 0; i < 5; i++) Assert.Equal(images[i], loaded[i].Pixels);
    }

    [NeedsAssets]
    [Fact]
    public void Real_mnist_test_set_loads()
    {
        var test = MnistIdx.Load(TestAssets.Mnist, train: false);
        Assert.Equal(10_000, test.Count);
        Assert.Equal((28, 28), (test[0].Rows, test[0].Columns));
        Assert.Equal(10, test.Select(m => m.Label).Distinct().Count());
        Assert.All(test.GroupBy(m => m.Label), g => Assert.InRange(g.Count(), 850, 1150));
        var view = new MLContext(1).Data.LoadMnist(TestAssets.Mnist, train: false, maxPerClass: 5);
        Assert.Equal(50, new MLContext(1).Data.CreateEnumerable<ImageBytesRow>(view, false).Count());
    }

    [Fact]
    public void Mnist_counts_exceeding_the_file_are_refused()
    {
        using var dir = new TempDir();
        var header = new byte[16 + 10];
        header[3] = 0x03; header[2] = 0x08; // 2051
        header[7] = 100; header[11] = 28; header[15] = 28; // declares 100 images of 28x28
        File.WriteAllBytes(dir.Combine("x.idx"), header);
        Assert.Contains("x.idx", Assert.Throws<InvalidDataException>(() => MnistIdx.ReadImages(dir.Combine("x.idx"))).Message);
    }

    [Fact]
    public void Stratified_split_keeps_class_ratios_and_shards_partition()
    {
        var items = Enumerable.Range(0, 300).Select(i => (Id: i, Label: i % 3 == 0 ? "a" : "b")).ToList(); // 100 a, 200 b
        var (train, validation) = Stratified.Split(items, x => x.Label, 0.2, seed: 5);
        Assert.Equal(20, validation.Count(x => x.Label == "a"));
        Assert.Equal(40, validation.Count(x => x.Label == "b"));
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(300, train.Count + validation.Count);
        Assert.Equal(validation, Stratified.Split(items, x => x.Label, 0.2, seed: 5).Validation);
        Assert.Throws<ArgumentOutOfRangeException>(() => Stratified.Split(items, x => x.Label, 1.0, 1));

        var shards = Enumerable.Range(0, 4).Select(i => Stratified.Shard(items, i, 4)).ToList();
        Assert.Equal(items.Count, shards.Sum(s => s.Count));
        Assert.Equal(items.OrderBy(x => x.Id), shards.SelectMany(s => s).OrderBy(x => x.Id));
    }
}
