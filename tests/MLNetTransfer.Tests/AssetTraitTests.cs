using System.Reflection;
using System.Runtime.CompilerServices;

namespace MLNetTransfer.Tests;

/// <summary>
/// Keeps <c>dotnet test --filter "Category!=Assets"</c> true: every test that reaches <see cref="TestAssets"/> (in its
/// body, a helper, a lambda, a class fixture, a static initializer, its theory data, or a child-process scenario started
/// from this assembly) carries <see cref="NeedsAssetsAttribute"/> on itself or its class. Found by following the IL of
/// this assembly. What it cannot see, a child process finding the assets through the environment alone (the CLI's
/// <c>demo</c>, the notebooks), is what the assets-free run itself catches (docs/testing.md).
/// </summary>
public class AssetTraitTests
{
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    // Members of TestAssets that do not read the assets folder: a child process is given the assets only if there are any.
    private static readonly string[] NotReading = ["get_" + nameof(TestAssets.RootIfAvailable), nameof(TestAssets.RepositoryRoot)];

    private static readonly Lazy<HashSet<MethodBase>> readers = new(FindReaders);

    [Fact]
    public void Every_test_that_reads_the_assets_carries_NeedsAssets()
    {
        var missing = TestMethods().Where(t => !Marked(t) && ReachesAssets(t)).Select(Name).Order().ToList();
        Assert.True(missing.Count == 0,
            $"These tests read the assets folder but lack [NeedsAssets] (on the method or its class):\n  {string.Join("\n  ", missing)}");
    }

    [Fact]
    public void The_check_sees_assets_read_in_a_body_through_a_child_scenario_and_not_through_the_cli_launcher()
    {
        Assert.True(ReachesAssets(Test(typeof(Backbones.AssetResolverTests), nameof(Backbones.AssetResolverTests.Real_model_resolves_from_the_assets_folder_and_passes_its_sha256))));
        // Reached only through TestChild's scenario table (a static initializer holding a delegate).
        Assert.True(ReachesAssets(Test(typeof(Featurization.OnnxBatchRunnerLoadTests), nameof(Featurization.OnnxBatchRunnerLoadTests.Batches_survive_garbage_collections_during_inference_and_give_identical_outputs))));
        // The CLI launcher passes the assets on only when there are some: a CLI test with no asset of its own needs none.
        Assert.False(ReachesAssets(Test(typeof(Cli.CliCommandTests), nameof(Cli.CliCommandTests.Missing_input_exits_2_with_one_line_naming_it))));
        Assert.False(ReachesAssets(Test(typeof(Training.EarlyStoppingAndScheduleTests), nameof(Training.EarlyStoppingAndScheduleTests.Schedules_follow_their_formulas))));
    }

    private static MethodInfo Test(Type type, string name) => type.GetMethod(name)!;

    private static string Name(MethodInfo test) => $"{test.ReflectedType!.FullName}.{test.Name}";

    private static IEnumerable<MethodInfo> TestMethods() =>
        typeof(TestAssets).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            .Where(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any());

    private static bool Marked(MethodInfo test) =>
        test.GetCustomAttribute<NeedsAssetsAttribute>() is not null || test.ReflectedType!.GetCustomAttribute<NeedsAssetsAttribute>(inherit: true) is not null;

    /// <summary>Whether anything the test runs (its body, the class's construction and fixtures, its data) reaches the assets.</summary>
    private static bool ReachesAssets(MethodInfo test)
    {
        var type = test.ReflectedType!;
        var roots = new List<MethodBase> { test };
        roots.AddRange(type.GetConstructors(All));
        roots.AddRange(type.GetMethods(All).Where(m => m.Name is "Dispose" or "InitializeAsync" or "DisposeAsync"));
        foreach (var fixture in type.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IClassFixture<>)))
            roots.AddRange(fixture.GetGenericArguments()[0].GetConstructors(All));
        foreach (var data in test.GetCustomAttributes<MemberDataAttribute>())
        {
            var source = data.MemberType ?? type;
            roots.AddRange(source.GetMethods(All | BindingFlags.FlattenHierarchy).Where(m => m.Name == data.MemberName));
            if (source.GetProperty(data.MemberName, All | BindingFlags.FlattenHierarchy)?.GetMethod is { } getter) roots.Add(getter);
            if (source.TypeInitializer is { } init) roots.Add(init);
        }
        return roots.Any(r => readers.Value.Contains(Definition(r)));
    }

    /// <summary>The methods of this assembly from which a call chain reaches a TestAssets member that reads the folder.</summary>
    private static HashSet<MethodBase> FindReaders()
    {
        var module = typeof(TestAssets).Module;
        var callers = new Dictionary<MethodBase, List<MethodBase>>();
        var found = new HashSet<MethodBase>();
        void Edge(MethodBase from, MethodBase? to)
        {
            if (to is null || to.Module != module) return;
            to = Definition(to);
            if (!callers.TryGetValue(to, out var list)) callers[to] = list = [];
            list.Add(from);
        }
        // A static initializer runs before a static field is first used; before any member is, when the type has an
        // explicit static constructor (no beforefieldinit).
        static bool InitializedByAnyMember(Type type) => !type.Attributes.HasFlag(TypeAttributes.BeforeFieldInit);
        var childMain = typeof(TestChild).GetMethod(nameof(TestChild.Main))!;
        foreach (var type in module.GetTypes())
            foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
            {
                if (type == typeof(TestAssets)) continue; // its own members are the sources, not followed inside
                if (InitializedByAnyMember(type)) Edge(method, type.TypeInitializer);
                if (method.GetCustomAttribute<StateMachineAttribute>() is { } machine) Edge(method, machine.StateMachineType.GetMethod("MoveNext", All));
                foreach (var member in MethodReferences.Of(method))
                {
                    if (member.DeclaringType == typeof(TestAssets) && member is MethodBase m && !NotReading.Contains(m.Name)) found.Add(method);
                    if (member is MethodBase callee) Edge(method, callee);
                    // TestChild.Run starts this assembly's Main in a child process, which runs the named scenario.
                    if (member is MethodBase { Name: nameof(TestChild.Run) } && member.DeclaringType == typeof(TestChild)) Edge(method, childMain);
                    if (member.DeclaringType is { } owner && owner.Module == module && (member is FieldInfo { IsStatic: true } || member is MethodBase && InitializedByAnyMember(owner)))
                        Edge(method, owner.TypeInitializer);
                }
            }
        var queue = new Queue<MethodBase>(found);
        while (queue.TryDequeue(out var method))
            foreach (var caller in callers.GetValueOrDefault(Definition(method)) ?? [])
                if (found.Add(Definition(caller))) queue.Enqueue(caller);
        return found;
    }

    /// <summary>One key per method of this assembly, whatever generic instantiation or reflected type a reference names.</summary>
    private static MethodBase Definition(MethodBase method) => method.Module.ResolveMethod(method.MetadataToken)!;
}
