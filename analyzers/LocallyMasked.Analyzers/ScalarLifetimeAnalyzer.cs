using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LocallyMasked.Analyzers;

/// <summary>
/// Refuses TorchSharp <c>Scalar</c>s whose lifetime nothing guarantees while libtorch reads them. TorchSharp 0.107 turns C#
/// numbers into finalizable <c>Scalar</c> objects on the fly and passes only their native handle to libtorch; once the handle
/// is read the object is unreachable, so a collection on another thread can finalize it (freeing the native value) while the
/// native call still reads it: an assertion, an abort, a NaN or a finite wrong number. Three rules:
/// <list type="bullet">
/// <item>LMS001: an implicit conversion of a number to <c>Scalar</c> (<c>x * 2</c>, <c>x.clamp(0, 1)</c>).</item>
/// <item>LMS002: a call of a TorchSharp member that makes such a Scalar inside (<c>a + b</c> calls <c>add(b, 1)</c>); the
/// members are listed in TorchSharpScalarMembers.txt, found by reading TorchSharp's IL (a test regenerates the list).</item>
/// <item>LMS003: a <c>Scalar</c> or <c>Generator</c> (also finalizable) handed to a call, or called, that nothing owns: it
/// must be a field, a property, a parameter or a local declared with <c>using</c>, never a fresh <c>ToScalar()</c>,
/// <c>Generator.Default</c> (a new wrapper at every use) or a plain local.</item>
/// </list>
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ScalarLifetimeAnalyzer : DiagnosticAnalyzer
{
    private const string ScalarType = "TorchSharp.Scalar";
    private const string GeneratorType = "TorchSharp.torch+Generator";
    private const string Help = "docs/architecture.md, \"Scalars and native calls\"";

    /// <summary>LMS001: implicit conversion to Scalar.</summary>
    public static readonly DiagnosticDescriptor ImplicitScalar = new(
        "LMS001", "Implicit conversion to TorchSharp.Scalar",
        "The {0} is converted to a temporary TorchSharp.Scalar that can be finalized while libtorch reads it: use a LocallyMasked.Numerics method, a Scalars constant or a Scalar in a using declaration (" + Help + ")",
        "Reliability", DiagnosticSeverity.Error, isEnabledByDefault: true);

    /// <summary>LMS002: a TorchSharp member that creates a Scalar internally.</summary>
    public static readonly DiagnosticDescriptor ConvertingMember = new(
        "LMS002", "TorchSharp member that creates an unowned Scalar",
        "{0} creates a TorchSharp.Scalar (or Generator) internally that nothing keeps alive during the native call: use the overload that takes Scalars (with Scalars constants) or a LocallyMasked.Numerics method (" + Help + ")",
        "Reliability", DiagnosticSeverity.Error, isEnabledByDefault: true);

    /// <summary>LMS003: a Scalar without an owner passed to a call.</summary>
    public static readonly DiagnosticDescriptor UnownedScalar = new(
        "LMS003", "Scalar or Generator without an owner passed to a call",
        "This TorchSharp.Scalar or Generator is used without an owner and can be finalized during the call: use a field, a property, a parameter or a local declared with using (" + Help + ")",
        "Reliability", DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly ImmutableHashSet<string> Members = LoadMembers();

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(ImplicitScalar, ConvertingMember, UnownedScalar);

    /// <summary>The documentation ids of the TorchSharp members that create Scalars internally.</summary>
    public static ImmutableHashSet<string> ConvertingMembers => Members;

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var scalar = start.Compilation.GetTypeByMetadataName(ScalarType);
            var generator = start.Compilation.GetTypeByMetadataName(GeneratorType);
            if (scalar is null || generator is null) return;
            var owned = new Owned(scalar, generator);
            start.RegisterOperationAction(c => AnalyzeConversion(c, scalar), OperationKind.Conversion);
            start.RegisterOperationAction(c => AnalyzeInvocation(c, owned), OperationKind.Invocation);
            start.RegisterOperationAction(c => AnalyzeCreation(c, owned), OperationKind.ObjectCreation);
            start.RegisterOperationAction(c => AnalyzeOperator(c, owned), OperationKind.Binary, OperationKind.Unary, OperationKind.CompoundAssignment);
        });
    }

    private static void AnalyzeConversion(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var conversion = (IConversionOperation)context.Operation;
        if (!SymbolEqualityComparer.Default.Equals(conversion.Type, scalar)) return;
        if (SymbolEqualityComparer.Default.Equals(conversion.Operand.Type, scalar)) return;
        if (conversion.OperatorMethod is null) return;
        if (conversion.IsImplicit)
        {
            string what = conversion.Operand.Type?.ToDisplayString() ?? "value";
            context.ReportDiagnostic(Diagnostic.Create(ImplicitScalar, conversion.Syntax.GetLocation(), what));
        }
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context, Owned scalar)
    {
        var invocation = (IInvocationOperation)context.Operation;
        ReportMember(context, invocation.TargetMethod, invocation.Syntax);
        foreach (var argument in invocation.Arguments) CheckOwned(context, argument.Value, scalar);
        if (invocation.Instance is { } instance) CheckOwned(context, instance, scalar);
    }

    private static void AnalyzeCreation(OperationAnalysisContext context, Owned scalar)
    {
        var creation = (IObjectCreationOperation)context.Operation;
        if (creation.Constructor is { } constructor) ReportMember(context, constructor, creation.Syntax);
        foreach (var argument in creation.Arguments) CheckOwned(context, argument.Value, scalar);
    }

    private static void AnalyzeOperator(OperationAnalysisContext context, Owned scalar)
    {
        IMethodSymbol? method = context.Operation switch
        {
            IBinaryOperation binary => binary.OperatorMethod,
            IUnaryOperation unary => unary.OperatorMethod,
            ICompoundAssignmentOperation compound => compound.OperatorMethod,
            _ => null,
        };
        if (method is null) return;
        ReportMember(context, method, context.Operation.Syntax);
        switch (context.Operation)
        {
            case IBinaryOperation binary:
                CheckOwned(context, binary.LeftOperand, scalar);
                CheckOwned(context, binary.RightOperand, scalar);
                break;
            case IUnaryOperation unary:
                CheckOwned(context, unary.Operand, scalar);
                break;
            case ICompoundAssignmentOperation compound:
                CheckOwned(context, compound.Value, scalar);
                break;
        }
    }

    private static void ReportMember(OperationAnalysisContext context, IMethodSymbol method, SyntaxNode syntax)
    {
        var original = method.ReducedFrom ?? method.OriginalDefinition;
        var id = original.GetDocumentationCommentId();
        if (id is not null && Members.Contains(id))
            context.ReportDiagnostic(Diagnostic.Create(ConvertingMember, syntax.GetLocation(), original.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat)));
    }

    /// <summary>The finalizable handle types whose objects must be owned while a native call reads them.</summary>
    private sealed class Owned(INamedTypeSymbol scalar, INamedTypeSymbol generator)
    {
        public INamedTypeSymbol Scalar { get; } = scalar;

        public bool Contains(ITypeSymbol? type) =>
            SymbolEqualityComparer.Default.Equals(type, Scalar) || SymbolEqualityComparer.Default.Equals(type, generator);

        /// <summary><c>Generator.Default</c> makes a new wrapper at every call: a creation, not a stored object.</summary>
        public bool IsCreatingProperty(IPropertySymbol property) =>
            property.IsStatic && property.Name == "Default" && SymbolEqualityComparer.Default.Equals(property.ContainingType, generator);
    }

    /// <summary>Reports a Scalar or Generator that no one owns: anything but a field, property, parameter or using local.</summary>
    private static void CheckOwned(OperationAnalysisContext context, IOperation value, Owned owned)
    {
        // An implicit number -> Scalar conversion is reported by LMS001 already.
        if (value is IConversionOperation { IsImplicit: true, OperatorMethod: not null } implicitConversion
            && !owned.Contains(implicitConversion.Operand.Type))
        {
            return;
        }
        var inner = value;
        while (inner is IConversionOperation { OperatorMethod: null } identity) inner = identity.Operand;
        while (inner is IParenthesizedOperation parenthesized) inner = parenthesized.Operand;
        if (!owned.Contains(inner.Type)) return;
        switch (inner)
        {
            case IPropertyReferenceOperation property when owned.IsCreatingProperty(property.Property):
                break;
            case IFieldReferenceOperation:
            case IPropertyReferenceOperation:
            case IParameterReferenceOperation:
            case IInstanceReferenceOperation:
            case ILiteralOperation:
            case IDefaultValueOperation:
                return;
            case ILocalReferenceOperation local when IsUsingLocal(local.Local):
                return;
        }
        context.ReportDiagnostic(Diagnostic.Create(UnownedScalar, value.Syntax.GetLocation()));
    }

    private static bool IsUsingLocal(ILocalSymbol local)
    {
        if (local.IsUsing) return true;
        // using (var s = ...) { } declares a local that is not flagged IsUsing: look at the declaring syntax.
        foreach (var reference in local.DeclaringSyntaxReferences)
        {
            for (var node = reference.GetSyntax(); node is not null; node = node.Parent)
            {
                if (node is Microsoft.CodeAnalysis.CSharp.Syntax.UsingStatementSyntax) return true;
                if (node is Microsoft.CodeAnalysis.CSharp.Syntax.StatementSyntax) break;
            }
        }
        return false;
    }

    private static ImmutableHashSet<string> LoadMembers()
    {
        using var stream = typeof(ScalarLifetimeAnalyzer).Assembly.GetManifestResourceStream("TorchSharpScalarMembers.txt");
        if (stream is null) return ImmutableHashSet<string>.Empty;
        using var reader = new StreamReader(stream);
        var members = new List<string>();
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            line = line.Trim();
            if (line.Length > 0 && !line.StartsWith("#")) members.Add(line);
        }
        return members.ToImmutableHashSet();
    }
}
