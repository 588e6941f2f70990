using Microsoft.ML;
using MLNetTransfer.Backbones;
using MLNetTransfer.Featurization;

namespace MLNetTransfer;

/// <summary>
/// ML.NET catalog entry points of MLNetTransfer (<c>mlContext.Transforms.FeaturizeImage(...)</c>, ...), in the style of
/// ML.NET's own catalogs.
/// </summary>
public static class FeaturizationCatalog
{
    /// <summary>
    /// Turns each image (a path column) into a pretrained backbone's embedding: the "intermediate output" strategy.
    /// Follow it with any ML.NET multiclass trainer.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The embedding column to create (known-size float vector).</param>
    /// <param name="inputColumnName">The image path column (text).</param>
    /// <param name="backbone">The backbone; default <see cref="FeaturizeImageOptions.Backbone"/>'s (resnet18-int8, 512-d).</param>
    public static FeaturizeImageEstimator FeaturizeImage(this TransformsCatalog catalog, string outputColumnName = "Features",
        string inputColumnName = "ImagePath", BackboneInfo? backbone = null)
    {
        var options = new FeaturizeImageOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName };
        return catalog.FeaturizeImage(backbone is null ? options : options with { Backbone = backbone });
    }

    /// <summary>The same, with every option (cache folder, batch size, sizes, threads, progress).</summary>
    public static FeaturizeImageEstimator FeaturizeImage(this TransformsCatalog catalog, FeaturizeImageOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return FeaturizeImageEstimator.For(catalog, options);
    }
}
