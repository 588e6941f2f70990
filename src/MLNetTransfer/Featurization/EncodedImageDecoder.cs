using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace MLNetTransfer.Featurization;

/// <summary>
/// Decodes an encoded-image column (PNG, JPEG, ... as a byte vector) into ML.NET's <see cref="MLImage"/>, the type
/// LoadImages produces, so the rest of a chain (ResizeImages, ExtractPixels, ApplyOnnxModel) is the same for bytes and
/// paths. ML.NET's own LoadImages reads files only. The step is a CustomMapping registered under a contract name, so a
/// model saved with <c>mlContext.Model.Save</c> loads in a new process (the model file names this assembly; ML.NET loads it).
/// </summary>
internal static class EncodedImageDecoder
{
    public const string ContractName = "MLNetTransfer.DecodeEncodedImage";
    /// <summary>Fixed input column of the mapping (a CustomMapping reloaded from disk knows only its class's column names).</summary>
    public const string EncodedColumn = "__mlnt_encoded";

    /// <summary>
    /// Appends the steps that turn image column <paramref name="imageColumn"/> (path text or encoded bytes) into an
    /// <see cref="MLImage"/> column <paramref name="outputColumn"/>.
    /// </summary>
    public static IEstimator<ITransformer> Decode(MLContext ml, string imageColumn, bool bytes, string outputColumn, string? imageFolder = null)
    {
        if (!bytes) return ml.Transforms.LoadImages(outputColumn, imageFolder, imageColumn);
        return ml.Transforms.CopyColumns(EncodedColumn, imageColumn)
            .Append(ml.Transforms.CustomMapping(new Factory().GetMapping(), ContractName))
            .Append(ml.Transforms.CopyColumns(outputColumn, DecodedRow.Column))
            .Append(ml.Transforms.DropColumns(EncodedColumn, DecodedRow.Column));
    }

    /// <summary>Why <paramref name="encoded"/> does not decode, or null when it does (checked before training so errors name the row).</summary>
    public static string? Problem(byte[]? encoded)
    {
        if (encoded is null || encoded.Length == 0) return "empty byte array";
        try
        {
            using var image = MLImage.CreateFromStream(new MemoryStream(encoded, writable: false));
            return image.Width > 0 && image.Height > 0 ? null : "decoded to an empty image";
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or IOException)
        {
            return $"{encoded.Length} bytes that are not a supported encoded image ({ex.Message})";
        }
    }

    /// <summary>The mapping's input row.</summary>
    public sealed class EncodedRow
    {
        /// <summary>The encoded image.</summary>
        [ColumnName(EncodedColumn)]
        public byte[] Encoded { get; set; } = [];
    }

    /// <summary>The mapping's output row.</summary>
    public sealed class DecodedRow
    {
        internal const string Column = "__mlnt_decoded";

        /// <summary>The decoded image (size unknown until decoded).</summary>
        [ColumnName(Column)]
        [UnsizedImageType]
        public MLImage? Image { get; set; }
    }

    /// <summary>
    /// Marks an <see cref="MLImage"/> member as an image of unknown size (what LoadImages outputs). ML.NET's own
    /// <c>[ImageType]</c> without a size failed to register in ML.NET 5.0.1 (it asks for a positive height).
    /// </summary>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    internal sealed class UnsizedImageTypeAttribute : DataViewTypeAttribute
    {
        /// <inheritdoc/>
        public override bool Equals(DataViewTypeAttribute other) => other is UnsizedImageTypeAttribute;

        /// <inheritdoc/>
        public override int GetHashCode() => nameof(UnsizedImageTypeAttribute).GetHashCode(StringComparison.Ordinal);

        /// <inheritdoc/>
        public override void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), this);
    }

    /// <summary>The factory ML.NET finds by contract name when it loads a saved model.</summary>
    [CustomMappingFactoryAttribute(ContractName)]
    public sealed class Factory : CustomMappingFactory<EncodedRow, DecodedRow>
    {
        /// <inheritdoc/>
        public override Action<EncodedRow, DecodedRow> GetMapping() => (input, output) =>
        {
            if (input.Encoded is not { Length: > 0 } bytes)
                throw new InvalidDataException("Image column: an empty byte array is not an image.");
            try { output.Image = MLImage.CreateFromStream(new MemoryStream(bytes, writable: false)); }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or IOException)
            {
                throw new InvalidDataException($"Image column: {bytes.Length} bytes (starting {Convert.ToHexString(bytes, 0, Math.Min(8, bytes.Length))}) " +
                                               $"are not a supported encoded image ({ex.Message}).", ex);
            }
        };
    }
}
