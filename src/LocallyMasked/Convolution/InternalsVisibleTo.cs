using System.Runtime.CompilerServices;

// The tests compare every fast path with the general path, and the benchmarks time them separately.
[assembly: InternalsVisibleTo("LocallyMasked.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Benchmarks")]
