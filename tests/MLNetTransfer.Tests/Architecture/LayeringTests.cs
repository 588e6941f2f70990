using System.Reflection;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Architecture;

/// <summary>
/// The layering the project references promise: the frozen-features library never loads TorchSharp, and no two
/// namespaces of the libraries (or of the CLI) use each other.
/// </summary>
public class LayeringTests(ITestOutputHelper output)
{
    private static readonly Assembly Core = typeof(MLNetTransfer.Featurization.FeaturizeImageEstimator).Assembly;
    private static readonly Assembly FineTuning = typeof(MLNetTransfer.Training.TransferLearningOptions).Assembly;
    private static readonly Assembly Cli = typeof(MLNetTransfer.Cli.CliRunner).Assembly;

    [Fact]
    public void The_frozen_features_library_references_neither_torchsharp_nor_the_fine_tuning_library()
    {
        Assert.Equal("MLNetTransfer", Core.GetName().Name);
        Assert.Equal("MLNetTransfer.TorchSharp", FineTuning.GetName().Name);
        var references = Core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("Microsoft.ML.OnnxRuntime", references); // the check reads real references
        Assert.DoesNotContain(references, r => r.StartsWith("TorchSharp", StringComparison.Ordinal) || r == FineTuning.GetName().Name);
        Assert.Contains(Core.GetName().Name, FineTuning.GetReferencedAssemblies().Select(a => a.Name));
    }

    [Fact]
    public void Library_namespaces_form_no_cycle()
    {
        var graph = NamespaceGraph.Build([Core, FineTuning], "MLNetTransfer", depth: 2);
        foreach (var (from, to) in graph) output.WriteLine($"{from} -> {string.Join(", ", to)}");
        Assert.Contains("MLNetTransfer.Onnx", graph["MLNetTransfer.Featurization"]); // the scan sees real uses
        Assert.Empty(NamespaceGraph.Cycles(graph).Select(c => string.Join(" <-> ", c)));
    }

    [Fact]
    public void Cli_namespaces_form_no_cycle()
    {
        var graph = NamespaceGraph.Build([Cli], "MLNetTransfer.Cli", depth: 3);
        foreach (var (from, to) in graph) output.WriteLine($"{from} -> {string.Join(", ", to)}");
        Assert.Empty(NamespaceGraph.Cycles(graph).Select(c => string.Join(" <-> ", c)));
    }

    [Fact]
    public void The_cycle_finder_finds_a_cycle()
    {
        var graph = new SortedDictionary<string, SortedSet<string>>
        {
            ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["A"], ["D"] = ["A"],
        };
        Assert.Equal(["A", "B", "C"], Assert.Single(NamespaceGraph.Cycles(graph)));
    }
}
