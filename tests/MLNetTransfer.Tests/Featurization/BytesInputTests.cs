using MLNetTransfer.Backbones;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransfer.Data;
using MLNetTransfer.Featurization;

namespace MLNetTransfer.Tests.Featurization;

[NeedsAssets]
[Collection("heavy")]
public class BytesInputTests
{
    [Fact]
    public void Encoded_bytes_featurize_like_the_same_images_from_files_and_survive_save_and_load()
    {
        var ml = new MLContext(1);
        var files = ImageFolder.Scan(TestAssets.Cifar10Test, new ImageFolderOptions { MaxPerClass = 2, ValidateImages = false }).Images;
        // The same pixels, re-encoded losslessly as PNG in memory (what the CIFAR binary and MNIST loaders produce).
        var rows = files.Select(f => (RawImage.EncodePngFromPlanes(MlImagePlanes.Decode(File.ReadAllBytes(f.Path), f.Path, 32, 32), 32, 32), f.Label)).ToList();
        var bytesView = ml.Data.LoadImagesFromBytes(rows);
        var pathView = ml.Data.LoadImages(files);
        var options = new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root), InputColumnName = ImageColumns.Bytes };
        using var fromBytes = ml.Transforms.FeaturizeImage(options).Fit(bytesView);
        using var fromPaths = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root) }).Fit(pathView);
        Assert.True(fromBytes.BytesInput);
        Assert.Equal(32, fromBytes.DecodeWidth);
        var a = fromBytes.Transform(bytesView).GetColumn<float[]>("Features").ToList();
        var b = fromPaths.Transform(pathView).GetColumn<float[]>("Features").ToList();
        Assert.Equal(files.Count, a.Count);
        float max = 0;
        for (int i = 0; i < a.Count; i++) for (int j = 0; j < 1280; j++) max = Math.Max(max, Math.Abs(a[i][j] - b[i][j]));
        Assert.True(max <= 1e-5f, $"bytes vs files max diff {max}");

        // Saved and reloaded in a new context, the bytes featurizer still takes bytes and gives the same embeddings.
        using var dir = new TempDir();
        ml.Model.Save(fromBytes, bytesView.Schema, dir.Combine("m.zip"));
        var loaded = new MLContext(2).Model.Load(dir.Combine("m.zip"), out var schema);
        using var disposeLoaded = Disposal.Of(loaded);
        Assert.Equal(Microsoft.ML.Data.NumberDataViewType.Byte, ((Microsoft.ML.Data.VectorDataViewType)schema[ImageColumns.Bytes].Type).ItemType);
        var c = loaded.Transform(bytesView).GetColumn<float[]>("Features").ToList();
        float maxLoaded = 0;
        for (int i = 0; i < a.Count; i++) for (int j = 0; j < 1280; j++) maxLoaded = Math.Max(maxLoaded, Math.Abs(a[i][j] - c[i][j]));
        Assert.True(maxLoaded <= 1e-5f, $"saved bytes featurizer vs in-process max diff {maxLoaded}");
    }

    [Fact]
    public void Photos_of_other_sizes_as_bytes_get_ml_net_resize_images_pixels_bit_for_bit()
    {
        // Photos (400 px short side, long sides up to 936) are decoded at the network's size. ML.NET's chain (what a saved
        // model runs) resizes them with ResizeImages (IsoCrop, centre; a Mitchell cubic in ImageAnalytics 6); the streaming
        // path decodes bytes itself and must give the same pixels.
        var ml = new MLContext(1);
        var files = ImageFolder.Scan(TestAssets.Dir("datasets/photos-dev/test"), new ImageFolderOptions { MaxPerClass = 1, ValidateImages = false }).Images;
        var rows = files.Select(f => (File.ReadAllBytes(f.Path), f.Label)).ToList();
        var view = ml.Data.LoadImagesFromBytes(rows);
        using var fitted = ml.Transforms.FeaturizeImage(new FeaturizeImageOptions
        {
            Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root), InputColumnName = ImageColumns.Bytes,
        }).Fit(view);
        int w = fitted.DecodeWidth, h = fitted.DecodeHeight;
        Assert.Equal(fitted.NetworkSize, w);
        var chainPixels = fitted.DecodeChain.Transform(view).GetColumn<float[]>(FeaturizeImageTransformer.PixelColumn).ToList();
        Assert.Equal(rows.Count, chainPixels.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var direct = new float[3 * w * h];
            MlImagePlanes.DecodeScaled(rows[i].Item1, files[i].Path, w, h, direct);
            Assert.True(chainPixels[i].AsSpan().SequenceEqual(direct), $"{files[i].Path}: direct decode differs from ML.NET's LoadImages → ResizeImages");
        }

        var streamed = fitted.Transform(view).GetColumn<float[]>("Features").ToList();
        var rowByRow = fitted.MlNetChain.Transform(view).GetColumn<float[]>("Features").ToList();
        float max = 0;
        for (int i = 0; i < rows.Count; i++) for (int j = 0; j < streamed[i].Length; j++) max = Math.Max(max, Math.Abs(streamed[i][j] - rowByRow[i][j]));
        Assert.True(max <= 1e-5f, $"streamed vs ML.NET chain max diff {max}");
    }
}
