namespace MLNetTransfer.Tests;

/// <summary>Tests that saturate both cores (ONNX Runtime, TorchSharp) run one at a time, not against each other.</summary>
[CollectionDefinition("heavy", DisableParallelization = true)]
public sealed class HeavyCollection;
