using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using MLNetTransfer.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>
/// The bottleneck cache: the frozen part of the network runs once per image (no augmentation means its output never
/// changes) and epochs then train only the rest. Values go to a file in the workspace and are read back through a
/// memory map, so the cache costs address space, not managed memory; a later run on the same workspace, data and
/// configuration finds the file complete (size, header and payload checksum checked) and reuses it instead of recomputing.
/// </summary>
internal sealed class FeatureCache : IDisposable
{
    private const int HeaderLongs = 5; // count, values per image, frozen-weights fingerprint, magic, payload checksum; then the shape
    private const long Magic = 0x4D4C4E5442434332; // "MLNTBCC2"
    private readonly Part train;
    private readonly Part? validation;

    private FeatureCache(Part train, Part? validation)
    {
        this.train = train;
        this.validation = validation;
    }

    public static FeatureCache Build(OnnxTorchModule body, int frozen, int bodyBlocks, BatchTransforms transforms,
        ImagePixelStore train, ImagePixelStore? validation, int batchSize, string folder)
    {
        body.eval();
        var t = Part.Open(Path.Combine(folder, $"bottleneck-train-{frozen}.f32"), body, frozen, bodyBlocks, transforms, train, batchSize);
        var v = validation is null ? null : Part.Open(Path.Combine(folder, $"bottleneck-validation-{frozen}.f32"), body, frozen, bodyBlocks, transforms, validation, batchSize);
        body.train();
        return new FeatureCache(t, v);
    }

    /// <summary>Cached values of a batch as one tensor [B, ...].</summary>
    public Tensor Batch(int[] indices, bool validation) => (validation ? this.validation! : train).Batch(indices);

    public void Dispose()
    {
        train.Dispose();
        validation?.Dispose();
    }

    private sealed class Part : IDisposable
    {
        private readonly MemoryMappedFile file;
        private readonly MemoryMappedViewAccessor view;
        private readonly int perImage;
        private readonly long[] shape;

        private Part(string path, int perImage, long[] shape)
        {
            file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            this.perImage = perImage;
            this.shape = shape;
        }

        public static Part Open(string path, OnnxTorchModule body, int frozen, int bodyBlocks, BatchTransforms transforms, ImagePixelStore images, int batchSize)
        {
            long[] shape;
            using (torch.no_grad())
            using (torch.NewDisposeScope())
                shape = Compute(body, frozen, bodyBlocks, transforms.ToInput(images.Batch([0]))).shape[1..];
            int per = (int)shape.Aggregate(1L, (a, b) => a * b);
            long expected = (HeaderLongs + shape.Length) * 8L + (long)images.Count * per * sizeof(float);
            long weights = WeightsFingerprint(body, Math.Min(frozen, bodyBlocks));
            if (!Complete(path, expected, images.Count, per, weights, shape.Length)) Write(path, body, frozen, bodyBlocks, transforms, images, batchSize, shape, per, weights);
            return new Part(path, per, shape);
        }

        private static Tensor Compute(OnnxTorchModule body, int frozen, int bodyBlocks, Tensor x) =>
            frozen >= bodyBlocks ? body.forward(x) : body.ForwardTo(x, frozen);

        // The frozen weights decide the cached values: a file made with other weights (e.g. before continued training) is stale.
        private static long WeightsFingerprint(OnnxTorchModule body, int frozen)
        {
            double sum = 0;
            using var _ = torch.no_grad();
            foreach (var p in body.ParametersOf(0, frozen)) sum += p.abs().sum().item<float>() + 0.5 * p.sum().item<float>();
            return BitConverter.DoubleToInt64Bits(sum);
        }

        // Size and header first (cheap); then the whole payload against its checksum, so a damaged file is rebuilt, never read.
        private static bool Complete(string path, long expected, int count, int per, long weights, int shapeLength)
        {
            if (!File.Exists(path) || new FileInfo(path).Length != expected) return false;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var reader = new BinaryReader(stream);
            if (reader.ReadInt64() != count || reader.ReadInt64() != per || reader.ReadInt64() != weights || reader.ReadInt64() != Magic) return false;
            long recorded = reader.ReadInt64();
            stream.Position = (HeaderLongs + shapeLength) * 8L;
            var checksum = new IO.Checksum64();
            var buffer = new byte[1 << 20];
            for (int n; (n = stream.Read(buffer)) > 0;) checksum.Append(buffer.AsSpan(0, n));
            return checksum.Value == recorded;
        }

        // Written to a hidden temp file and renamed: a killed run never leaves a cache that looks complete.
        private static void Write(string path, OnnxTorchModule body, int frozen, int bodyBlocks, BatchTransforms transforms, ImagePixelStore images,
            int batchSize, long[] shape, int per, long weights)
        {
            IO.AtomicFile.RemoveStaleTemps(path);
            var temp = IO.AtomicFile.TempPathFor(path);
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                using (var writer = new BinaryWriter(stream))
                {
                    writer.Write((long)images.Count);
                    writer.Write((long)per);
                    writer.Write(weights);
                    writer.Write(Magic);
                    writer.Write(0L); // checksum, filled in once the payload is written
                    foreach (var d in shape) writer.Write(d);
                    var checksum = new IO.Checksum64();
                    using (torch.no_grad())
                        for (int start = 0; start < images.Count; start += batchSize)
                        {
                            using var scope = torch.NewDisposeScope();
                            int n = Math.Min(batchSize, images.Count - start);
                            var y = Compute(body, frozen, bodyBlocks, transforms.ToInput(images.Batch([.. Enumerable.Range(start, n)]))).contiguous();
                            var bytes = MemoryMarshal.AsBytes(y.data<float>().ToArray().AsSpan());
                            checksum.Append(bytes);
                            writer.Write(bytes);
                        }
                    writer.Flush();
                    stream.Position = 4 * 8;
                    writer.Write(checksum.Value);
                    writer.Flush();
                    stream.Flush(flushToDisk: true);
                }
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }

        public Tensor Batch(int[] indices)
        {
            var data = new float[indices.Length * perImage];
            long offset = (HeaderLongs + shape.Length) * 8L;
            for (int i = 0; i < indices.Length; i++)
                view.ReadArray(offset + (long)indices[i] * perImage * sizeof(float), data, i * perImage, perImage);
            return torch.tensor(data, [indices.Length, .. shape]);
        }

        public void Dispose()
        {
            view.Dispose();
            file.Dispose();
        }
    }
}
