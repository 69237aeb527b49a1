using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LocallyMasked.Tests.Architecture;

/// <summary>
/// Finds, in TorchSharp's compiled IL, every public member that creates a <c>Scalar</c> (or a <c>Generator</c> wrapper) it does
/// not dispose: a method whose body calls <c>Scalar.op_Implicit</c>, a <c>ToScalar</c> extension or <c>Generator.Default</c>,
/// and every method that calls (or takes the address
/// of) such a method, transitively, and the virtual methods such a method overrides (a call of <c>Optimizer.step</c> may run
/// <c>Adam.step</c>). The result is a set of documentation ids, the analyzer's list.
/// </summary>
internal static class ScalarCreatingMembers
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The documentation ids of the public members of <paramref name="assemblyPath"/> that create unowned Scalars.</summary>
    public static ImmutableSortedSet<string> Find(string assemblyPath)
    {
        var tokens = ScanTokens(assemblyPath);
        var compilation = CSharpCompilation.Create("scan", references: new[]
        {
            MetadataReference.CreateFromFile(typeof(object).Assembly.Location),
            MetadataReference.CreateFromFile(assemblyPath),
        });
        var assembly = (IAssemblySymbol)compilation.GetAssemblyOrModuleSymbol(compilation.References.Last())!;
        var ids = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
        foreach (var type in AllTypes(assembly.GlobalNamespace))
        {
            if (!IsPublic(type)) continue;
            foreach (var member in type.GetMembers().OfType<IMethodSymbol>())
            {
                if (member.DeclaredAccessibility != Accessibility.Public) continue;
                if (!tokens.Contains(member.MetadataToken)) continue;
                // A call through a base method may dispatch here: the virtual methods it overrides are listed too.
                for (var m = member; m is not null; m = m.OverriddenMethod)
                    if (m.OriginalDefinition.GetDocumentationCommentId() is { } id) ids.Add(id);
            }
        }
        return ids.ToImmutable();
    }

    private static bool IsPublic(INamedTypeSymbol type)
    {
        for (var t = type; t is not null; t = t.ContainingType)
            if (t.DeclaredAccessibility != Accessibility.Public) return false;
        return true;
    }

    private static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
    {
        foreach (var type in ns.GetTypeMembers())
            foreach (var t in WithNested(type)) yield return t;
        foreach (var child in ns.GetNamespaceMembers())
            foreach (var t in AllTypes(child)) yield return t;
    }

    private static IEnumerable<INamedTypeSymbol> WithNested(INamedTypeSymbol type)
    {
        yield return type;
        foreach (var nested in type.GetTypeMembers())
            foreach (var t in WithNested(nested)) yield return t;
    }

    /// <summary>Metadata tokens of the methods that create unowned Scalars, directly or through the methods they call.</summary>
    private static HashSet<int> ScanTokens(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var calls = new Dictionary<MethodDefinitionHandle, List<MethodDefinitionHandle>>();
        var creates = new HashSet<MethodDefinitionHandle>();
        var disposes = new HashSet<MethodDefinitionHandle>();
        var conversions = new HashSet<MethodDefinitionHandle>();

        foreach (var handle in md.MethodDefinitions)
        {
            var method = md.GetMethodDefinition(handle);
            var (typeName, name) = (FullName(md, md.GetTypeDefinition(method.GetDeclaringType())), md.GetString(method.Name));
            if (IsConversion(typeName, name)) conversions.Add(handle);
            var callees = new List<MethodDefinitionHandle>();
            calls[handle] = callees;
            if (method.RelativeVirtualAddress == 0) continue;
            var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes()!;
            for (int i = 0; i < il.Length;)
            {
                short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
                var op = OpCodesByValue[value];
                i += op.Size;
                if (op.OperandType == OperandType.InlineMethod)
                {
                    var (targetType, targetName, definition) = Target(md, MetadataTokens.EntityHandle(BitConverter.ToInt32(il, i)));
                    if (IsConversion(targetType, targetName)) creates.Add(handle);
                    if (targetType == "TorchSharp.Scalar" && targetName == "Dispose") disposes.Add(handle);
                    if (!definition.IsNil) callees.Add(definition);
                }
                i += OperandSize(op.OperandType, il, i);
            }
        }

        // A method that disposes what it creates manages the lifetime itself.
        var unsafeMethods = new HashSet<MethodDefinitionHandle>(creates.Where(m => !disposes.Contains(m)));
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var (method, callees) in calls)
            {
                if (unsafeMethods.Contains(method) || conversions.Contains(method) || disposes.Contains(method)) continue;
                if (callees.Any(unsafeMethods.Contains))
                {
                    unsafeMethods.Add(method);
                    changed = true;
                }
            }
        }
        return unsafeMethods.Where(m => !conversions.Contains(m)).Select(m => MetadataTokens.GetToken(m)).ToHashSet();
    }

    /// <summary>Whether a method returns a new finalizable handle object that its callers inside TorchSharp drop: a Scalar from
    /// a number, or <c>Generator.Default</c>'s new wrapper of the default generator.</summary>
    private static bool IsConversion(string type, string name) =>
        (type == "TorchSharp.Scalar" && name == "op_Implicit")
        || (type == "TorchSharp.ScalarExtensionMethods" && name.StartsWith("To", StringComparison.Ordinal) && name.EndsWith("Scalar", StringComparison.Ordinal))
        || (type == "TorchSharp.torch+Generator" && name == "get_Default");

    private static int OperandSize(OperandType type, byte[] il, int at) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
        _ => 4,
    };

    private static (string Type, string Name, MethodDefinitionHandle Definition) Target(MetadataReader md, EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.MethodDefinition:
            {
                var method = md.GetMethodDefinition((MethodDefinitionHandle)handle);
                return (FullName(md, md.GetTypeDefinition(method.GetDeclaringType())), md.GetString(method.Name), (MethodDefinitionHandle)handle);
            }
            case HandleKind.MemberReference:
            {
                var reference = md.GetMemberReference((MemberReferenceHandle)handle);
                return (TypeName(md, reference.Parent), md.GetString(reference.Name), default);
            }
            case HandleKind.MethodSpecification:
                return Target(md, md.GetMethodSpecification((MethodSpecificationHandle)handle).Method);
            default:
                return ("", "", default);
        }
    }

    private static string TypeName(MetadataReader md, EntityHandle handle) => handle.Kind switch
    {
        HandleKind.TypeDefinition => FullName(md, md.GetTypeDefinition((TypeDefinitionHandle)handle)),
        HandleKind.TypeReference => md.GetString(md.GetTypeReference((TypeReferenceHandle)handle).Namespace) + "."
            + md.GetString(md.GetTypeReference((TypeReferenceHandle)handle).Name),
        _ => "",
    };

    private static string FullName(MetadataReader md, TypeDefinition type)
    {
        var name = md.GetString(type.Name);
        var declaring = type.GetDeclaringType();
        return declaring.IsNil ? md.GetString(type.Namespace) + "." + name : FullName(md, md.GetTypeDefinition(declaring)) + "+" + name;
    }
}
