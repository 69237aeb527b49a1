using System.Runtime.CompilerServices;
using LocallyMasked.Training.Runtime;

namespace LocallyMasked.TestSupport;

internal static class TestAssemblySetup
{
    // Runs when the test assembly loads, before any test touches libtorch: CI machines are shared,
    // and spinning OpenMP workers slow the suite down several-fold there.
    [ModuleInitializer]
    internal static void PreferPassiveOpenMpWaits() => OpenMpWaitPolicy.PreferPassive();
}
