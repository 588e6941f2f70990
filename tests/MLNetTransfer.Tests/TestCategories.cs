using Xunit.Abstractions;
using Xunit.Sdk;

namespace MLNetTransfer.Tests;

/// <summary>
/// The trait values that split the suite (see docs/testing.md): <c>dotnet test --filter "Category!=Assets"</c> runs
/// what needs nothing but the build; the groups below are the slow parts a developer may leave out.
/// </summary>
public static class TestCategory
{
    /// <summary>Reads the real data or model (<c>MLNETTRANSFER_ASSETS</c>), directly, through a helper or in a child process.</summary>
    public const string Assets = "Assets";

    /// <summary>Runs notebooks/*.ipynb in the .NET Interactive kernel against a freshly packed library.</summary>
    public const string Notebooks = "Notebooks";

    /// <summary>Packs the NuGet packages and builds, restores or installs from them.</summary>
    public const string Packaging = "Packaging";

    /// <summary>The trait name the categories are filed under.</summary>
    public const string Name = "Category";
}

/// <summary>
/// The test (or every test of the class) reads the assets folder: trait <c>Category=Assets</c>. Such tests fail loudly
/// when the assets are missing; every other test must pass without them, which
/// <see cref="AssetTraitTests"/> checks over the compiled tests.
/// </summary>
[TraitDiscoverer("MLNetTransfer.Tests.CategoryTraitDiscoverer", "MLNetTransfer.Tests")]
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class NeedsAssetsAttribute : Attribute, ITraitAttribute
{
    /// <summary>Marks a test that needs the assets and, optionally, belongs to a slow group (<see cref="TestCategory"/>).</summary>
    public NeedsAssetsAttribute(params string[] groups) => Groups = groups;

    /// <summary>Further categories, such as <see cref="TestCategory.Notebooks"/>.</summary>
    public string[] Groups { get; }
}

/// <summary>Turns <see cref="NeedsAssetsAttribute"/> into <c>Category=Assets</c> plus one <c>Category</c> per group.</summary>
public sealed class CategoryTraitDiscoverer : ITraitDiscoverer
{
    /// <inheritdoc />
    public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute)
    {
        yield return new(TestCategory.Name, TestCategory.Assets);
        var groups = traitAttribute.GetConstructorArguments().FirstOrDefault() as IEnumerable<object> ?? [];
        foreach (var group in groups.Cast<string>()) yield return new(TestCategory.Name, group);
    }
}
