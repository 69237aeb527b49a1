using LocallyMasked.TestSupport;
using System.Collections.Immutable;
using LocallyMasked.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LocallyMasked.Tests.Architecture;

/// <summary>
/// The build-time rule against Scalars that libtorch may read after they are freed (docs/architecture.md, "Scalars and
/// native calls"): the analyzer's list of TorchSharp members is what TorchSharp's IL says, and the analyzer reports each
/// kind of unowned Scalar while it accepts owned ones.
/// </summary>
public class ScalarLifetimeAnalyzerTests
{
    private const string ListPath = "analyzers/LocallyMasked.Analyzers/TorchSharpScalarMembers.txt";

    [Fact]
    public void The_analyzers_list_is_every_TorchSharp_member_that_creates_an_unowned_Scalar()
    {
        var scanned = ScalarCreatingMembers.Find(typeof(TorchSharp.torch).Assembly.Location);
        var listed = ScalarLifetimeAnalyzer.ConvertingMembers;
        if (Environment.GetEnvironmentVariable("LOCALLYMASKED_WRITE_SCALAR_LIST") == "1")
        {
            File.WriteAllLines(RepositoryFiles.Find(ListPath), new[]
            {
                "# TorchSharp members that create a Scalar they do not keep alive (documentation ids), from TorchSharp's IL.",
                $"# Regenerate: LOCALLYMASKED_WRITE_SCALAR_LIST=1 dotnet test --filter {nameof(ScalarLifetimeAnalyzerTests)}",
            }.Concat(scanned));
        }
        scanned.Should().Contain("M:TorchSharp.torch.Tensor.add(TorchSharp.torch.Tensor)", "tensor + tensor passes a temporary alpha of 1");
        scanned.Should().NotContain("M:TorchSharp.torch.Tensor.add(TorchSharp.torch.Tensor,TorchSharp.Scalar)");
        listed.Should().BeEquivalentTo(scanned, "the list must follow the TorchSharp version in use (regenerate it as its header says)");
    }

    [Fact]
    public void Implicit_conversions_converting_members_and_unowned_scalars_are_errors()
    {
        var diagnostics = Analyze(@"
using TorchSharp;
using static TorchSharp.torch;
static class C
{
    static Tensor A(Tensor x) => x.mul(2.0) * 2;              // LMS001 (2.0 -> Scalar), LMS002 (operator *(Tensor, int))
    static Tensor B(Tensor x, Tensor y) => x + y;             // LMS002
    static Tensor D(Tensor x) => x.mul(2.0.ToScalar());       // LMS003
    static Tensor E(Tensor x) { var s = 2.0.ToScalar(); return x.mul(s); }   // LMS003: a plain local
    static Tensor F(Tensor x) => x.clamp(0.0, 1.0);           // LMS001 twice
    static Tensor G(Tensor x) => nn.functional.elu(x, 1.0);   // LMS002
    static Tensor H(Tensor x) { x += x; return x; }           // LMS002
}");
        diagnostics.Select(d => $"{d.Location.GetLineSpan().StartLinePosition.Line}:{d.Id}").Should().Equal("5:LMS002", "5:LMS001", "6:LMS002", "7:LMS003", "8:LMS003", "9:LMS001", "9:LMS001", "10:LMS002", "11:LMS002");
    }

    [Fact]
    public void Owned_scalars_and_scalar_free_operations_pass()
    {
        var diagnostics = Analyze(@"
using TorchSharp;
using static TorchSharp.torch;
static class C
{
    static readonly Scalar One = 1L.ToScalar();
    static Scalar Two { get; } = 2L.ToScalar();
    static Tensor A(Tensor x, Tensor y) => x.add(y, One);
    static Tensor B(Tensor x) => x.mul(Two) * x - x / x;
    static Tensor D(Tensor x, double v) { using var s = v.ToScalar(); return x.mul(s); }
    static Tensor E(Tensor x, double v) { using (var s = v.ToScalar()) { return x.mul(s); } }
    static Tensor F(Tensor x, Scalar s) => x.mul(s);
    static Tensor G(Tensor x) => x.elu(One, One, One);
}");
        diagnostics.Should().BeEmpty();
    }

    private static ImmutableArray<Diagnostic> Analyze(string source)
    {
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a.Location.Length > 0)
            .Select(a => MetadataReference.CreateFromFile(a.Location))
            .Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location));
        var compilation = CSharpCompilation.Create("probe", new[] { CSharpSyntaxTree.ParseText(source) }, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Should().BeEmpty("the probe source must compile");
        return compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new ScalarLifetimeAnalyzer()))
            .GetAnalyzerDiagnosticsAsync().Result
            .OrderBy(d => d.Location.SourceSpan.Start)
            .ToImmutableArray();
    }
}
