using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransfer.Training;

/// <summary>
/// A trained image classifier: an ML.NET transformer chain that takes an <c>ImagePath</c> (and <c>Label</c>) column and
/// adds <c>Score</c> (class probabilities in <see cref="Labels"/> order) and <c>PredictedLabel</c> (text). Dispose it when
/// done: that closes the chain's ONNX Runtime sessions and deletes the model files ML.NET keeps in its temp folder.
/// </summary>
public sealed class ImageClassifierModel : IDisposable
{
    /// <summary>Wraps a fitted chain; <paramref name="labels"/> are read from its Score slot names when null.</summary>
    public ImageClassifierModel(ITransformer model, DataViewSchema inputSchema, IReadOnlyList<string>? labels = null)
    {
        Model = model;
        InputSchema = inputSchema;
        Labels = labels ?? ReadLabels(model.GetOutputSchema(inputSchema));
    }

    /// <summary>The ML.NET transformer chain.</summary>
    public ITransformer Model { get; }

    /// <summary>The schema the chain was trained on (needed by <c>Model.Save</c>).</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>Class names in score order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Seconds spent in <c>Fit</c>, featurization included.</summary>
    public double TrainSeconds { get; init; }

    /// <summary>Saves as an ML.NET model zip (atomically); loadable by plain ML.NET.</summary>
    public void Save(MLContext ml, string path) =>
        IO.AtomicFile.Write(path, stream => ml.Model.Save(Model, InputSchema, stream));

    /// <summary>Loads a model zip written by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an ML.NET image classifier.</exception>
    public static ImageClassifierModel Load(MLContext ml, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: model file not found.", path);
        ITransformer model;
        DataViewSchema schema;
        try { model = ml.Model.Load(path, out schema); }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{path}: not a readable ML.NET model ({ex.Message})", ex);
        }
        if (schema.GetColumnOrNull("ImagePath") is null)
            throw new InvalidDataException($"{path}: the model does not take an ImagePath column; it is not an image classifier.");
        return new ImageClassifierModel(model, schema);
    }

    /// <summary>Predicts label and class probabilities for image files.</summary>
    /// <exception cref="FileNotFoundException">An image file does not exist.</exception>
    /// <exception cref="InvalidDataException">An image file does not decode (truncated, corrupt, not an image, too large).</exception>
    public IReadOnlyList<ImagePrediction> Predict(MLContext ml, IEnumerable<string> imagePaths)
    {
        var rows = imagePaths.Select(p => new ScoringRow { ImagePath = Path.GetFullPath(p), Label = Labels[0] }).ToList();
        foreach (var r in rows)
        {
            if (!File.Exists(r.ImagePath)) throw new FileNotFoundException($"{r.ImagePath}: image file not found.", r.ImagePath);
            // Checked first: inside ML.NET's parallel cursor a bad image surfaces without its file name.
            if (Data.ImageFolder.Check(r.ImagePath) is { } problem) throw new InvalidDataException($"{r.ImagePath}: {problem}.");
        }
        var scored = Model.Transform(ml.Data.LoadFromEnumerable(rows));
        var scores = scored.GetColumn<float[]>("Score").ToList();
        return [.. rows.Select((r, i) =>
        {
            int best = Onnx.Scores.ArgMax(scores[i]);
            return new ImagePrediction(r.ImagePath, Labels[best], scores[i][best], scores[i]);
        })];
    }

    /// <summary>
    /// Disposes the chain (ML.NET's <c>ApplyOnnxModel</c> steps keep an ONNX Runtime session and a copy of their model under
    /// <c>MLContext.TempFilePath</c>; a loaded model's copy is only deleted here, or never if the process exits first).
    /// </summary>
    public void Dispose() => Onnx.OnnxGraphFiles.Dispose(Model);

    private static string[] ReadLabels(DataViewSchema output)
    {
        var score = output.GetColumnOrNull("Score")
            ?? throw new InvalidDataException("The model has no Score column.");
        VBuffer<ReadOnlyMemory<char>> names = default;
        if (score.HasSlotNames())
        {
            score.GetSlotNames(ref names);
            return [.. names.DenseValues().Select(n => n.ToString())];
        }
        // Chains that end in ONNX scores carry no slot names (fine-tuned models saved by earlier versions): the predicted
        // key's values (or the label key's) are the classes, in score order.
        var label = new[] { "PredictedLabel", "Label" }.Select(n => output.GetColumnOrNull(n))
                        .FirstOrDefault(c => c is { } col && col.Type is KeyDataViewType && col.HasKeyValues())
                    ?? throw new InvalidDataException("The model has no class names (no Score slot names, no PredictedLabel or Label key values).");
        label.GetKeyValues(ref names);
        return [.. names.DenseValues().Select(n => n.ToString())];
    }

    private sealed class ScoringRow
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }
}

/// <summary>The prediction for one image.</summary>
/// <param name="ImagePath">The image file.</param>
/// <param name="Label">The most probable class.</param>
/// <param name="Score">Its probability.</param>
/// <param name="Scores">All class probabilities, in <see cref="ImageClassifierModel.Labels"/> order.</param>
public sealed record ImagePrediction(string ImagePath, string Label, float Score, float[] Scores);
