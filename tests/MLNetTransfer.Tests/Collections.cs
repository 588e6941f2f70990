namespace MLNetTransfer.Tests;

/// <summary>
/// In-process tests that saturate both cores (ONNX Runtime, TorchSharp) run one at a time, not against each other. The
/// collection runs beside the others (xunit.runner.json: two at a time on this 2-core machine): the light unit tests,
/// and the "packages" collection, whose packs, restores and kernel starts leave a core idle much of the time.
/// </summary>
[CollectionDefinition("heavy")]
public sealed class HeavyCollection;
