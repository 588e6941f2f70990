using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using MLNetTransfer.Tests.Reliability;

namespace MLNetTransfer.Tests.Architecture;

/// <summary>
/// The public API of both libraries is pinned by docs/api.md: a change to an exported type or member fails here until
/// the file is regenerated (<c>MLNETTRANSFER_UPDATE_API=1 dotnet test --filter PublicApiTests</c>) and the diff reviewed.
/// </summary>
public class PublicApiTests
{
    private const string UpdateVariable = "MLNETTRANSFER_UPDATE_API";
    private static readonly Assembly[] Libraries =
    [
        typeof(MLNetTransfer.Featurization.FeaturizeImageEstimator).Assembly,
        typeof(MLNetTransfer.Training.TransferLearningOptions).Assembly,
    ];

    private static string ApiFile => Path.Combine(HostileInputCorpusTests.RepoRoot(), "docs", "api.md");

    [Fact]
    public void Exported_types_and_members_match_docs_api_md()
    {
        var expected = Render();
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1") File.WriteAllText(ApiFile, expected);
        Assert.True(File.Exists(ApiFile), $"{ApiFile} is missing; run with {UpdateVariable}=1 to write it");
        var actual = File.ReadAllText(ApiFile).ReplaceLineEndings("\n");
        if (actual == expected) return;
        var now = expected.Split('\n');
        var pinned = actual.Split('\n');
        var added = now.Except(pinned).Take(25).Select(l => "+ " + l);
        var removed = pinned.Except(now).Take(25).Select(l => "- " + l);
        Assert.Fail($"The public API differs from docs/api.md (+ new, - gone). If intended, run with {UpdateVariable}=1 and review the diff.\n" +
                    string.Join("\n", removed.Concat(added)));
    }

    [Fact]
    public void The_listing_sees_types_members_and_what_is_internal()
    {
        var core = PublicApi.Describe(Libraries[0]);
        Assert.Contains("sealed class MLNetTransfer.Featurization.FeaturizeImageEstimator : IEstimator<FeaturizeImageTransformer>", core);
        Assert.Contains(core, l => Regex.IsMatch(l, @"^  FeaturizeImageTransformer Fit\(IDataView input\)$"));
        Assert.DoesNotContain(core, l => l.Contains("OnnxBatchRunner") || l.Contains("MLNetEnvironment")); // internal
    }

    private static string Render()
    {
        var text = new StringBuilder();
        text.Append("""
            # Public API

            Every type and member a user can compile against, in both libraries, generated from the built assemblies by
            `tests/MLNetTransfer.Tests/Architecture/PublicApi.cs`. `PublicApiTests` fails when the code and this file differ, so
            an API change is always a visible diff in review. After an intended change:
            `MLNETTRANSFER_ASSETS=../shared/assets MLNETTRANSFER_UPDATE_API=1 dotnet test MLNetTransfer.sln --filter PublicApiTests`.
            Everything else is internal (the CLI and the tests see internals through `InternalsVisibleTo`).

            """.ReplaceLineEndings("\n"));
        foreach (var assembly in Libraries)
        {
            var lines = PublicApi.Describe(assembly);
            int types = lines.Count(l => !l.StartsWith(' '));
            text.Append($"\n## {assembly.GetName().Name} ({types} public types)\n\n```text\n");
            foreach (var line in lines) text.Append(line).Append('\n');
            text.Append("```\n");
        }
        return text.ToString();
    }
}
