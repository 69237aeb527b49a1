using System.Runtime.CompilerServices;

// The tests compare fast paths against the internal reference paths they replace. The training package uses the public
// API only.
[assembly: InternalsVisibleTo("LocallyMasked.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Training.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Cli.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Benchmarks")]
[assembly: InternalsVisibleTo("LocallyMasked.ReproducibilityProbe")]
