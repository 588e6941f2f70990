using System.Reflection;
using System.Reflection.Emit;

namespace MLNetTransfer.Tests;

/// <summary>
/// The methods, fields and types a method's IL names (calls, delegate creations, field loads, type tokens): enough of
/// an IL reader to follow what code reaches inside an assembly, without a decompiler dependency.
/// </summary>
internal static class MethodReferences
{
    private static readonly Dictionary<short, OpCode> opCodes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>Each method, field or type token in the body of <paramref name="method"/>, resolved; unresolvable ones are skipped.</summary>
    public static IEnumerable<MemberInfo> Of(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) yield break;
        var typeArgs = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArgs = method is MethodInfo { IsGenericMethod: true } ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE) value = unchecked((short)(0xFE00 | il[i++]));
            var op = opCodes[value];
            int token = op.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok ? BitConverter.ToInt32(il, i) : 0;
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (token == 0) continue;
            MemberInfo? member;
            try { member = method.Module.ResolveMember(token, typeArgs, methodArgs); }
            catch (ArgumentException) { continue; }   // a token of a generic context the resolver cannot bind
            if (member is not null) yield return member;
        }
    }
}
