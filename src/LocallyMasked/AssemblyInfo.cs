using System.Runtime.CompilerServices;

// The tests compare fast paths against the internal reference paths they replace.
[assembly: InternalsVisibleTo("LocallyMasked.Tests")]
[assembly: InternalsVisibleTo("LocallyMasked.Benchmarks")]
