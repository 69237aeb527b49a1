using System.Runtime.CompilerServices;

// The training package reuses the argument checks of orders; the tests compare fast paths against the internal
// reference paths they replace.
[assembly: InternalsVisibleTo("LocallyMasked.Training")]
[assembly: InternalsVisibleTo("LocallyMasked.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Training.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Cli.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Benchmarks")]
[assembly: InternalsVisibleTo("LocallyMasked.ReproducibilityProbe")]
