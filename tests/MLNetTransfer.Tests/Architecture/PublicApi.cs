using System.Reflection;
using System.Text;

namespace MLNetTransfer.Tests.Architecture;

/// <summary>
/// The public surface of an assembly as text, one line per exported type and per visible member (public or protected),
/// in a stable order, with C#-like type names. It is what a user can compile against, so any change to it is an API
/// change: docs/api.md holds the reviewed copy.
/// </summary>
internal static class PublicApi
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                          BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static IReadOnlyList<string> Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            lines.Add(TypeLine(type));
            lines.AddRange(type.GetMembers(Declared)
                .Where(IsVisible)
                .Where(m => m is not Type) // nested types are listed as types of their own
                .Select(MemberLine)
                .Where(l => l is not null)
                .Select(l => "  " + l)
                .Distinct()
                .Order(StringComparer.Ordinal)!);
        }
        return lines;
    }

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase m => (m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly) && !m.IsSpecialName || m is ConstructorInfo { IsPublic: true } or ConstructorInfo { IsFamily: true },
        FieldInfo f => (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly) && !f.IsSpecialName,
        PropertyInfo p => p.GetAccessors(true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily),
        _ => false,
    };

    private static string TypeLine(Type type)
    {
        string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? (IsRecord(type) ? "record struct" : "struct")
            : typeof(Delegate).IsAssignableFrom(type) ? "delegate" : IsRecord(type) ? "record" : "class";
        var modifiers = type.IsAbstract && type.IsSealed ? "static " : type.IsSealed && !type.IsValueType && !type.IsEnum && kind != "delegate" ? "sealed "
            : type.IsAbstract && !type.IsInterface ? "abstract " : "";
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) && kind != "delegate") bases.Add(Name(b));
        bases.AddRange(type.GetInterfaces()
            .Where(i => i.IsPublic || i.IsNestedPublic)
            .Where(i => type.BaseType is null || !i.IsAssignableFrom(type.BaseType))
            .Where(i => !(IsRecord(type) && i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEquatable<>)))
            .Select(Name).Order(StringComparer.Ordinal));
        return $"{modifiers}{kind} {Name(type, qualified: true)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}";
    }

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null ||
        type.IsValueType && type.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null;

    private static string? MemberLine(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"{(c.IsFamily ? "protected " : "")}{(c.IsStatic ? "static " : "")}.ctor({Parameters(c)})",
        MethodInfo m when IsRecordPlumbing(m) => null,
        MethodInfo m => $"{(m.IsFamily ? "protected " : "")}{(m.IsStatic ? "static " : "")}{(m.IsAbstract ? "abstract " : m.IsVirtual && !m.IsFinal && m.GetBaseDefinition() == m ? "virtual " : "")}" +
                        $"{Name(m.ReturnType)} {m.Name}{(m.IsGenericMethod ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "")}({Parameters(m)})",
        PropertyInfo p when p.DeclaringType is { } t && IsRecord(t) && p.Name == "EqualityContract" => null,
        PropertyInfo p => $"{(p.GetAccessors(true).Any(a => a.IsStatic) ? "static " : "")}{Name(p.PropertyType)} {(p.GetIndexParameters().Length > 0 ? $"this[{Parameters(p.GetIndexParameters())}]" : p.Name)} {{ {Accessors(p)}}}",
        FieldInfo f when f.DeclaringType!.IsEnum => f.IsStatic ? $"{f.Name} = {Convert.ToInt64(f.GetRawConstantValue())}" : null,
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{Name(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + Literal(f.GetRawConstantValue()) : "")}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => null,
    };

    // Members the compiler writes for every record; listing them would only repeat "record".
    private static bool IsRecordPlumbing(MethodInfo m) =>
        m.DeclaringType is { } t && IsRecord(t) &&
        (m.Name is "<Clone>$" or "PrintMembers" or "GetHashCode" or "ToString" or "op_Equality" or "op_Inequality" ||
         m.Name == "Equals" && m.GetParameters() is [var p] && (p.ParameterType == t || p.ParameterType == typeof(object) || p.ParameterType == t.BaseType) ||
         m.Name == "Deconstruct");

    private static string Accessors(PropertyInfo p)
    {
        var text = new StringBuilder();
        if (p.GetMethod is { } get && (get.IsPublic || get.IsFamily)) text.Append("get; ");
        if (p.SetMethod is { } set && (set.IsPublic || set.IsFamily))
            text.Append(set.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit") ? "init; " : "set; ");
        return text.ToString();
    }

    private static string Parameters(MethodBase method) => Parameters(method.GetParameters());

    private static string Parameters(ParameterInfo[] parameters) => string.Join(", ", parameters.Select(p =>
        $"{(p.IsOut ? "out " : p.ParameterType.IsByRef ? "ref " : "")}{(p.GetCustomAttribute<ParamArrayAttribute>() is not null ? "params " : "")}" +
        $"{Name(p.ParameterType.IsByRef ? p.ParameterType.GetElementType()! : p.ParameterType)} {p.Name}" +
        $"{(p.HasDefaultValue ? " = " + Literal(p.DefaultValue) : "")}"));

    private static string Literal(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(short)] = "short",
        [typeof(ushort)] = "ushort", [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long", [typeof(ulong)] = "ulong",
        [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal", [typeof(string)] = "string",
        [typeof(char)] = "char", [typeof(object)] = "object",
    };

    private static string Name(Type type) => Name(type, qualified: false);

    private static string Name(Type type, bool qualified)
    {
        if (Keywords.TryGetValue(type, out var keyword)) return keyword;
        if (type.IsArray) return Name(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        if (type.IsByRef || type.IsPointer) return Name(type.GetElementType()!) + (type.IsPointer ? "*" : "");
        if (type.IsGenericParameter) return type.Name;
        if (Nullable.GetUnderlyingType(type) is { } inner) return Name(inner) + "?";
        var name = type.Name;
        int tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        if (type.IsNested) name = Name(type.DeclaringType!, qualified) + "." + name;
        else if (qualified && type.Namespace is { } ns) name = ns + "." + name;
        var arguments = type.IsGenericType ? type.GetGenericArguments().Skip(type.IsNested ? type.DeclaringType!.GetGenericArguments().Length : 0).ToArray() : [];
        return arguments.Length == 0 ? name : $"{name}<{string.Join(", ", arguments.Select(Name))}>";
    }
}
