using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransfer.Featurization;

/// <summary>
/// The input view plus the embedding column. Rows come in input order; the embedding of a row is computed in
/// batches ahead of it (see <see cref="BatchProducer"/>), other columns are read straight from the input.
/// </summary>
internal sealed class FeaturizedDataView : IDataView
{
    private readonly FeaturizeImageTransformer owner;
    private readonly IDataView input;

    public FeaturizedDataView(FeaturizeImageTransformer owner, IDataView input)
    {
        this.owner = owner;
        this.input = input;
        Schema = owner.GetOutputSchema(input.Schema);
        for (int i = 0; i < input.Schema.Count; i++)
            if (Schema[i].Name != input.Schema[i].Name || !Schema[i].Type.Equals(input.Schema[i].Type))
                throw new InvalidOperationException($"Featurized schema column {i} is '{Schema[i].Name}' ({Schema[i].Type}), expected the input's '{input.Schema[i].Name}' ({input.Schema[i].Type}).");
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var feature = Schema[owner.Options.OutputColumnName];
        bool wantFeature = needed.Contains(feature.Index);
        // By index, never by name: a schema may hold hidden columns of the same name (MapValueToKey("Label") keeps
        // the text Label hidden before the key one), and a name finds only the visible one. The output schema is the
        // input's columns at their own indices, then the embedding.
        var inputNeeded = Schema.Where(c => needed.Contains(c.Index) && c.Index != feature.Index)
            .Select(c => input.Schema[c.Index]).ToList();
        var passThrough = input.GetRowCursor(inputNeeded);
        var producer = wantFeature ? new BatchProducer(owner, input) : null;
        return new Cursor(this, passThrough, producer, feature.Index);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(FeaturizedDataView view, DataViewRowCursor passThrough, BatchProducer? producer, int featureIndex)
        : DataViewRowCursor
    {
        private FeatureBatch? batch;
        private int rowInBatch;
        private long position = -1;

        public override DataViewSchema Schema => view.Schema;
        public override long Position => position;
        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (!passThrough.MoveNext()) return false;
            position++;
            if (producer is not null && (batch is null || ++rowInBatch >= batch.Count))
            {
                batch = producer.Next() ?? throw new InvalidOperationException("The image stream ended before the input rows did.");
                rowInBatch = 0;
            }
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == featureIndex ? producer is not null : passThrough.IsColumnActive(passThrough.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != featureIndex)
                return passThrough.GetGetter<TValue>(passThrough.Schema[column.Index]);
            if (producer is null) throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                var source = batch!.Row(rowInBatch);
                var editor = VBufferEditor.Create(ref value, source.Length);
                source.CopyTo(editor.Values);
                value = editor.Commit();
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is a float vector, not {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => passThrough.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing) { producer?.Dispose(); passThrough.Dispose(); }
            base.Dispose(disposing);
        }
    }
}
