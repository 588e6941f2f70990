using System.Reflection;

namespace MLNetTransfer.Tests.Architecture;

/// <summary>
/// Which MLNetTransfer namespace uses which, read from the compiled assemblies: every type's signatures (base type,
/// interfaces, fields, properties, method parameters and returns) and every member its method bodies' IL touches.
/// Compiler-generated types (lambdas, iterators, async state machines) count for the type that declares them.
/// Namespaces are cut to their first <c>depth</c> parts: a sub-namespace such as <c>MLNetTransfer.Onnx.Proto</c> (the
/// generated ONNX messages) is a private part of its parent and may use it, as the parent's other files do.
/// </summary>
internal static class NamespaceGraph
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                            BindingFlags.Static | BindingFlags.DeclaredOnly;


    /// <summary>
    /// Edges namespace → namespaces it uses (self-edges left out), for namespaces starting with <paramref name="prefix"/>,
    /// each cut to its first <paramref name="depth"/> dot-separated parts.
    /// </summary>
    public static SortedDictionary<string, SortedSet<string>> Build(IEnumerable<Assembly> assemblies, string prefix, int depth)
    {
        string? Key(Type type) => Cut(NamespaceOf(type), depth);
        var graph = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var assembly in assemblies)
            foreach (var type in assembly.GetTypes())
            {
                var from = Key(type);
                if (from is null || !from.StartsWith(prefix, StringComparison.Ordinal)) continue;
                if (!graph.TryGetValue(from, out var targets)) graph[from] = targets = new(StringComparer.Ordinal);
                foreach (var used in UsedTypes(type))
                    if (Key(used) is { } to && to != from && to.StartsWith(prefix, StringComparison.Ordinal)) targets.Add(to);
            }
        return graph;
    }

    /// <summary>The groups of namespaces that reach each other (strongly connected components with more than one member).</summary>
    public static List<List<string>> Cycles(SortedDictionary<string, SortedSet<string>> graph)
    {
        // Tarjan's algorithm; the graph has a few dozen nodes, recursion depth is no concern.
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var cycles = new List<List<string>>();
        int counter = 0;
        void Visit(string node)
        {
            index[node] = low[node] = counter++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
            {
                if (!index.ContainsKey(next)) { Visit(next); low[node] = Math.Min(low[node], low[next]); }
                else if (onStack.Contains(next)) low[node] = Math.Min(low[node], index[next]);
            }
            if (low[node] != index[node]) return;
            var component = new List<string>();
            string member;
            do { member = stack.Pop(); onStack.Remove(member); component.Add(member); } while (member != node);
            if (component.Count > 1) cycles.Add([.. component.Order(StringComparer.Ordinal)]);
        }
        foreach (var node in graph.Keys) if (!index.ContainsKey(node)) Visit(node);
        return cycles;
    }

    private static string? Cut(string? name, int depth) =>
        name is null ? null : string.Join('.', name.Split('.').Take(depth));

    private static string? NamespaceOf(Type type)
    {
        while (type.IsNested) type = type.DeclaringType!;
        return type.Namespace;
    }

    private static IEnumerable<Type> UsedTypes(Type type)
    {
        var used = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || t.IsGenericParameter || !used.Add(t)) return;
            if (t.HasElementType) Add(t.GetElementType());
            if (t.IsGenericType) foreach (var argument in t.GetGenericArguments()) Add(argument);
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(Everything)) Add(f.FieldType);
        foreach (var p in type.GetProperties(Everything)) Add(p.PropertyType);
        foreach (var m in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            if (m is MethodInfo method) Add(method.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            foreach (var t in TypesInBody(m)) Add(t);
        }
        return used;
    }

    // The types a body names: those of the methods, fields and types its instructions refer to.
    private static IEnumerable<Type> TypesInBody(MethodBase method) =>
        MethodReferences.Of(method).Select(member => member as Type ?? member.DeclaringType).OfType<Type>();
}
