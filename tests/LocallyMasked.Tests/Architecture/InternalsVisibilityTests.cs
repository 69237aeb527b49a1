using System.Reflection;
using System.Runtime.CompilerServices;
using LocallyMasked.Models;

namespace LocallyMasked.Tests.Architecture;

/// <summary>The packages meet through public API only: the model package shows its internals to test and measuring assemblies, never to the training package.</summary>
public class InternalsVisibilityTests
{
    [Fact]
    public void The_model_package_grants_its_internals_to_no_package()
    {
        var granted = typeof(LocallyMaskedPixelCnn).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToArray();
        granted.Should().NotBeEmpty("the tests reach internal reference paths");
        granted.Should().NotContain("LocallyMasked.Training");
        granted.Should().OnlyContain(name => name.EndsWith(".Tests", StringComparison.Ordinal) || name == "LocallyMasked.Benchmarks"
            || name == "LocallyMasked.ReproducibilityProbe");
    }
}
