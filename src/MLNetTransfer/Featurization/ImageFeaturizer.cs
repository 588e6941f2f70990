using Microsoft.ML;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Featurization outside an ML.NET pipeline: image paths in, embeddings out, streamed in input order with the same
/// batched, overlapped engine as <see cref="FeaturizeImageTransformer"/>.
/// </summary>
public sealed class ImageFeaturizer(FeaturizeImageOptions options)
{
    private readonly MLContext ml = new();

    /// <summary>The options in use.</summary>
    public FeaturizeImageOptions Options { get; } = options;

    /// <summary>Embeddings of <paramref name="imagePaths"/>, in order; memory stays bounded (two batches ahead).</summary>
    public IEnumerable<float[]> Featurize(IEnumerable<string> imagePaths)
    {
        var view = ml.Data.LoadFromEnumerable(imagePaths.Select(p => new PathRow { ImagePath = p }));
        var options = Options with { InputColumnName = nameof(PathRow.ImagePath), OutputColumnName = "Features" };
        using var transformer = new FeaturizeImageEstimator(ml, options).Fit(view);
        var output = transformer.Transform(view);
        using var cursor = output.GetRowCursor([output.Schema["Features"]]);
        var getter = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(output.Schema["Features"]);
        Microsoft.ML.Data.VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            yield return value.DenseValues().ToArray();
        }
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }
}
