using System.Diagnostics;
using MLNetTransfer.Data;
using MLNetTransfer.Onnx;
using MLNetTransfer.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetTransfer.Training;

/// <summary>
/// The fine-tuning loop behind <see cref="TransferLearningTrainer"/> and <see cref="TrainedNetwork.Train"/>: build the
/// network, train in phases (head warm-up, then unfrozen blocks), with the bottleneck cache when the frozen part sees no
/// augmentation, early stopping, checkpoints in the workspace and resume. Options arrive validated.
/// </summary>
internal static class FineTuningLoop
{
    /// <summary>Trains on decoded images; <paramref name="labels"/>[i] is the class of index i.</summary>
    /// <exception cref="ArgumentException">Fewer than two classes, or an empty training set.</exception>
    public static TrainedNetwork Train(ImagePixelStore train, int[] trainLabels, ImagePixelStore? validation, int[]? validationLabels,
        IReadOnlyList<string> labels, TransferLearningOptions options, CancellationToken cancel = default)
    {
        RequireData(train, labels);
        torch.manual_seed(options.Seed);
        if (options.ContinueFrom is { } folder)
        {
            // Continued training: the saved body and head are the starting point; the classes must be the same.
            var saved = TrainedNetwork.Load(folder, options.Assets);
            if (!saved.Labels.SequenceEqual(labels))
                throw new ArgumentException($"{folder}: the saved network predicts [{string.Join(", ", saved.Labels)}], the data has [{string.Join(", ", labels)}].");
            // The saved network fixes architecture, sizes and normalization; everything else comes from the caller.
            var continued = options with
            {
                Strategy = options.Strategy == TransferStrategy.Scratch ? TransferStrategy.FullFineTune : options.Strategy,
                BackboneLrFactor = options.Strategy == TransferStrategy.Scratch ? 1.0 : options.BackboneLrFactor,
                ImageSize = saved.ImageSize,
            };
            return Fit(saved.Body, saved.Head, saved.Normalization, saved.ImageSize, train, trainLabels, validation, validationLabels, saved.Labels, continued, cancel);
        }
        var (body, width) = NetworkBuilder.Body(options.Strategy, options.Backbone, options.Assets, options.Seed);
        var normalization = options.Strategy == TransferStrategy.Scratch ? NetworkBuilder.ScratchNormalization : options.Backbone.Normalization(options.Assets);
        var head = NetworkBuilder.Head(options.Head, width, labels.Count, options.DropoutRate);
        return Fit(body, head, normalization, NetworkSize(options), train, trainLabels, validation, validationLabels, labels, options, cancel);
    }

    /// <summary>
    /// Trains a new head (and, per the strategy, later blocks) on a body that was itself trained on another task:
    /// the task-A → task-B transfer. The body's normalization and input size are kept; with
    /// <see cref="TransferStrategy.HeadOnly"/> the shared layers do not change.
    /// </summary>
    public static TrainedNetwork Transfer(TrainedNetwork source, ImagePixelStore train, int[] trainLabels, ImagePixelStore? validation,
        int[]? validationLabels, IReadOnlyList<string> labels, TransferLearningOptions options, CancellationToken cancel = default)
    {
        RequireData(train, labels);
        torch.manual_seed(options.Seed);
        int width = (int)source.Head.parameters().First(p => p.dim() == 2).shape[^1];
        var head = NetworkBuilder.Head(options.Head, width, labels.Count, options.DropoutRate);
        return Fit(source.Body, head, source.Normalization, NetworkSize(options), train, trainLabels, validation, validationLabels, labels, options, cancel);
    }

    /// <summary>Side of the square image the network sees: the option, rounded up to what the backbone's strides need.</summary>
    internal static int NetworkSize(TransferLearningOptions options) =>
        options.Strategy == TransferStrategy.Scratch ? options.ImageSize : options.Backbone.NetworkSizeFor(options.ImageSize);

    private static void RequireData(ImagePixelStore train, IReadOnlyList<string> labels)
    {
        if (labels.Count < 2) throw new ArgumentException($"Training needs at least 2 classes; got {labels.Count}.");
        if (train.Count == 0) throw new ArgumentException("The training set is empty.");
    }

    private static TrainedNetwork Fit(OnnxTorchModule body, nn.Module<Tensor, Tensor> head, ImageNormalization normalization, int size, ImagePixelStore train,
        int[] trainLabels, ImagePixelStore? validation, int[]? validationLabels, IReadOnlyList<string> labels, TransferLearningOptions options,
        CancellationToken cancel)
    {
        // A checkpoint is only resumed for the same settings, the same data (count and label sum as a cheap check) and
        // the same starting weights (another backbone file, another task-A network, another saved network to continue).
        var settings = TrainingFingerprint.Of(options, $"{train.Count} images, {labels.Count} classes, label sum {trainLabels.Sum()}, {validation?.Count ?? 0} validation",
            WeightsDigest(body, head));
        using var workspace = new TrainingWorkspace(options.WorkspacePath, settings, options.Log, options.TemporaryRoot);
        using var heap = NativeHeap.RetainFreedMemory(); // batches reuse freed pages instead of faulting them in again
        var run = new Run(body, head, train, trainLabels, validation, validationLabels, options, new BatchTransforms(size, normalization), workspace, cancel);
        var stopReason = run.Execute();
        return new TrainedNetwork(body, head, labels, size, normalization, run.History, stopReason);
    }

    private static string WeightsDigest(params nn.Module[] modules)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var _ = torch.no_grad();
        foreach (var p in modules.SelectMany(m => m.parameters()))
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.detach().cpu().contiguous().data<float>().ToArray().AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    /// <summary>One training run's state.</summary>
    private sealed class Run(OnnxTorchModule body, nn.Module<Tensor, Tensor> head, ImagePixelStore train, int[] trainLabels,
        ImagePixelStore? validation, int[]? validationLabels, TransferLearningOptions o, BatchTransforms transforms,
        TrainingWorkspace workspace, CancellationToken cancel)
    {
        public List<EpochMetrics> History { get; } = [];
        private readonly int bodyBlocks = body.Blocks.Count(b => b.Name != "head");

        public string? Execute()
        {
            var phases = Phases();
            long stepsPerEpoch = (train.Count + o.BatchSize - 1) / o.BatchSize;
            long totalSteps = stepsPerEpoch * o.Epochs;
            var resume = workspace.TryResume(body, head);
            if (resume is not null)
            {
                History.AddRange(resume.History);
                o.EarlyStopping?.Restore(resume.Best, resume.BestEpoch, resume.Wait);
                o.ResumeCallback?.Invoke(resume.NextEpoch);
            }
            int epoch = resume?.NextEpoch ?? 0;
            string? stop = null;
            foreach (var (phase, from, to, frozen) in phases)
            {
                if (epoch >= to || stop is not null) continue;
                body.Freeze(frozen);
                using var cache = o.Augmentation == Augment.None && frozen > 0 ? FeatureCache.Build(body, frozen, bodyBlocks, transforms, train, validation, o.BatchSize, workspace.Folder) : null;
                using var optimizer = CreateOptimizer(frozen);
                workspace.LoadOptimizer(optimizer, phase, resume);
                resume = null;
                for (; epoch < to && stop is null; epoch++)
                {
                    cancel.ThrowIfCancellationRequested();
                    var metrics = TrainEpoch(epoch, phase, frozen, cache, optimizer, stepsPerEpoch, totalSteps, out bool nan);
                    History.Add(metrics);
                    o.MetricsCallback?.Invoke(metrics);
                    workspace.Log(History);
                    if (nan)
                    {
                        stop = $"the training loss became NaN in epoch {epoch + 1}; kept the best weights so far (lower the learning rate).";
                        if (!workspace.RestoreBest(body, head)) throw new InvalidOperationException($"Training diverged: {stop} No epoch finished cleanly, so there is no model to keep.");
                        break;
                    }
                    bool improved = true;
                    if (o.EarlyStopping is { } es)
                    {
                        double value = es.Metric == EarlyStoppingMetric.Loss ? metrics.ValidationLoss : metrics.ValidationAccuracy;
                        (improved, bool halt) = es.Update(epoch, value);
                        if (halt) stop = $"early stopping after epoch {epoch + 1}: no {es.Metric.ToString().ToLowerInvariant()} improvement for {es.Patience} epochs (best epoch {es.BestEpoch + 1}).";
                    }
                    if (improved) workspace.SaveBest(body, head);
                    workspace.SaveCheckpoint(body, head, optimizer, phase, epoch + 1, History, o.EarlyStopping);
                }
            }
            if (o.EarlyStopping is not null && stop is not null) workspace.RestoreBest(body, head);
            return stop;
        }

        private List<(string Phase, int From, int To, int Frozen)> Phases() => o.Strategy switch
        {
            TransferStrategy.HeadOnly => [("train", 0, o.Epochs, bodyBlocks)],
            TransferStrategy.PartialRetrain => [("warmup", 0, Math.Min(o.WarmupEpochs, o.Epochs), bodyBlocks),
                ("finetune", Math.Min(o.WarmupEpochs, o.Epochs), o.Epochs, Math.Max(0, bodyBlocks - Math.Max(1, o.UnfrozenBlocks)))],
            TransferStrategy.FullFineTune or TransferStrategy.Scratch => [("train", 0, o.Epochs, 0)],
            _ => throw new ArgumentOutOfRangeException(nameof(o), $"Unknown strategy {o.Strategy}."),
        };

        private optim.Optimizer CreateOptimizer(int frozen)
        {
            // Head at the base rate; unfrozen blocks lower, earlier ones lower still (layer-wise decay).
            var groups = new List<(IEnumerable<Parameter> Params, double Factor)> { (head.parameters(), 1.0) };
            bool pretrained = o.Strategy != TransferStrategy.Scratch;
            for (int b = frozen; b < bodyBlocks; b++)
            {
                double factor = !pretrained ? 1.0 : o.BackboneLrFactor * (o.Strategy == TransferStrategy.FullFineTune ? Math.Pow(o.LayerwiseLrFactor, bodyBlocks - 1 - b) : 1.0);
                var ps = body.ParametersOf(b, b + 1).ToList();
                if (ps.Count > 0) groups.Add((ps, factor));
            }
            factors = [.. groups.Select(g => g.Factor)];
            double lr = o.LearningRate, wd = o.WeightDecay;
            return o.Optimizer switch
            {
                OptimizerKind.Sgd => torch.optim.SGD(groups.Select(g => new SGD.ParamGroup(g.Params, lr * g.Factor, 0, 0, wd, false, false)), lr, 0, 0, wd),
                OptimizerKind.SgdMomentum => torch.optim.SGD(groups.Select(g => new SGD.ParamGroup(g.Params, lr * g.Factor, 0.9, 0, wd, false, false)), lr, 0.9, 0, wd),
                OptimizerKind.AdamW => torch.optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Params, lr * g.Factor, 0.9, 0.999, 1e-8, wd, false, false)), lr, 0.9, 0.999, 1e-8, wd),
                _ => torch.optim.Adam(groups.Select(g => new Adam.ParamGroup(g.Params, lr * g.Factor, 0.9, 0.999, 1e-8, wd, false, false)), lr, 0.9, 0.999, 1e-8, wd),
            };
        }

        private double[] factors = [1.0];

        private EpochMetrics TrainEpoch(int epoch, string phase, int frozen, FeatureCache? cache, optim.Optimizer optimizer,
            long stepsPerEpoch, long totalSteps, out bool nan)
        {
            var watch = Stopwatch.StartNew();
            torch.manual_seed(o.Seed * 1000L + epoch); // dropout masks repeat on resume
            var order = Enumerable.Range(0, train.Count).ToArray();
            new Random(o.Seed * 7919 + epoch).Shuffle(order);
            var augmentRandom = new Random(o.Seed * 104729 + epoch);
            body.train();
            head.train();
            double lossSum = 0, rate = o.LearningRate;
            long correct = 0, seen = 0, step = epoch * stepsPerEpoch;
            nan = false;
            for (int start = 0; start < order.Length; start += o.BatchSize, step++)
            {
                using var scope = torch.NewDisposeScope();
                var batch = order.AsSpan(start, Math.Min(o.BatchSize, order.Length - start)).ToArray();
                var y = torch.tensor(batch.Select(i => (long)trainLabels[i]).ToArray());
                var logits = Forward(batch, frozen, cache, train, augmentRandom, training: true);
                var loss = nn.functional.cross_entropy(logits, y);
                if (o.L1 > 0)
                    loss = loss + o.L1 * head.parameters().Concat(body.parameters()).Where(p => p.requires_grad).Select(p => p.abs().sum()).Aggregate((a, b) => a + b);
                float value = loss.item<float>();
                if (float.IsNaN(value) || float.IsInfinity(value)) { nan = true; break; }
                rate = o.Schedule.Rate(o.LearningRate, step, totalSteps, (int)stepsPerEpoch);
                int g = 0;
                foreach (var group in optimizer.ParamGroups) group.LearningRate = rate * factors[Math.Min(g++, factors.Length - 1)];
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += value * batch.Length;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += batch.Length;
                o.Progress?.Invoke(epoch, seen, train.Count);
            }
            var (valLoss, valAccuracy) = validation is null ? (double.NaN, double.NaN) : Evaluate(frozen, cache);
            double seconds = watch.Elapsed.TotalSeconds;
            return new EpochMetrics(epoch, phase, seen == 0 ? double.NaN : lossSum / seen, seen == 0 ? 0 : (double)correct / seen,
                valLoss, valAccuracy, rate, seconds, seen / Math.Max(seconds, 1e-9));
        }

        private (double Loss, double Accuracy) Evaluate(int frozen, FeatureCache? cache)
        {
            body.eval();
            head.eval();
            using var _ = torch.no_grad();
            double lossSum = 0;
            long correct = 0;
            for (int start = 0; start < validation!.Count; start += o.BatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var batch = Enumerable.Range(start, Math.Min(o.BatchSize, validation.Count - start)).ToArray();
                var y = torch.tensor(batch.Select(i => (long)validationLabels![i]).ToArray());
                var logits = Forward(batch, frozen, cache, validation, null, training: false);
                lossSum += nn.functional.cross_entropy(logits, y).item<float>() * batch.Length;
                correct += logits.argmax(1).eq(y).sum().item<long>();
            }
            body.train();
            head.train();
            return (lossSum / validation.Count, (double)correct / validation.Count);
        }

        private Tensor Forward(int[] batch, int frozen, FeatureCache? cache, ImagePixelStore images, Random? random, bool training)
        {
            Tensor features;
            if (cache is not null)
            {
                var boundary = cache.Batch(batch, validation: !ReferenceEquals(images, train));
                features = frozen >= bodyBlocks ? boundary : body.ForwardFrom(boundary, frozen);
            }
            else
            {
                var x = transforms.ToInput(images.Batch(batch), training ? o.Augmentation : Augment.None, random);
                if (frozen > 0 && training)
                {
                    Tensor boundary;
                    using (torch.no_grad()) boundary = body.ForwardTo(x, frozen).detach(); // frozen part: no graph kept
                    features = frozen >= bodyBlocks ? body.ForwardFrom(boundary, frozen) : body.ForwardFrom(boundary, frozen);
                }
                else features = body.forward(x);
            }
            return head.forward(features.flatten(1));
        }
    }
}
