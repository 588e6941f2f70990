using Microsoft.ML;

namespace MLNetTransfer.Data;

/// <summary>Image loaders on <c>mlContext.Data</c>, in the style of ML.NET's own <c>LoadFromTextFile</c>.</summary>
public static class DataCatalogExtensions
{
    /// <summary>Folder-per-class images as an IDataView with <c>ImagePath</c> and <c>Label</c> (text).</summary>
    public static IDataView LoadImagesFromDirectory(this DataOperationsCatalog data, string root, ImageFolderOptions? options = null) =>
        data.LoadFromEnumerable(ImageFolder.Scan(root, options).Images.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));

    /// <summary>Labelled image files as an IDataView with <c>ImagePath</c> and <c>Label</c>.</summary>
    public static IDataView LoadImages(this DataOperationsCatalog data, IEnumerable<LabeledImage> images) =>
        data.LoadFromEnumerable(images.Select(i => new ImagePathRow { ImagePath = i.Path, Label = i.Label }));

    /// <summary>In-memory encoded images as an IDataView with <c>Image</c> (bytes) and <c>Label</c>.</summary>
    public static IDataView LoadImagesFromBytes(this DataOperationsCatalog data, IEnumerable<(byte[] Bytes, string Label)> images) =>
        data.LoadFromEnumerable(images.Select(i => new ImageBytesRow { Image = i.Bytes, Label = i.Label }));

    /// <summary>CIFAR-10 binary batches from a folder as PNG-encoded <c>Image</c> rows with class-name labels.</summary>
    public static IDataView LoadCifar10Binary(this DataOperationsCatalog data, string dir, bool train) =>
        data.LoadFromEnumerable(Cifar10Binary.ToRows(Cifar10Binary.LoadDirectory(dir, train)).ToList());

    /// <summary>MNIST idx files from a folder as PNG-encoded <c>Image</c> rows with labels "0".."9".</summary>
    public static IDataView LoadMnist(this DataOperationsCatalog data, string dir, bool train, int? maxPerClass = null, int seed = 1)
    {
        IReadOnlyList<MnistImage> images = MnistIdx.Load(dir, train);
        if (maxPerClass is int n) images = Stratified.Sample(images, m => m.Label.ToString(), n, seed);
        return data.LoadFromEnumerable(MnistIdx.ToRows(images).ToList());
    }
}
