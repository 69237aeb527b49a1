using BenchmarkDotNet.Running;
using LocallyMasked.Benchmarks;

// `sampling-report [--full-naive]` prints the naive-vs-cached table in one run; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "sampling-report") return SamplingReport.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(SamplingBenchmarks).Assembly).Run(args);
return 0;
