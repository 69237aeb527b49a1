using BenchmarkDotNet.Running;
using LocallyMasked.Benchmarks;
using LocallyMasked.Training.Runtime;

// Before libtorch loads: let OpenMP workers sleep instead of spin (the machine is shared; see docs/benchmarks.md).
Console.WriteLine($"OMP_WAIT_POLICY=PASSIVE: {OpenMpWaitPolicy.PreferPassive()}");
// As the CLI does: freed native memory stays in glibc's heap, for both sides of every comparison.
Console.WriteLine($"native heap retained: {NativeHeapRetention.Retain()}");

// `sampling-report`, `training-step-report`, `sample-quality` and `precision-report [...]` print their tables in one run; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "sampling-report") return SamplingReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "training-step-report") return TrainingStepReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "sample-quality") return SampleQualityReport.Run(args[1..]);
if (args.Length > 0 && args[0] == "precision-report") return PrecisionReport.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(SamplingBenchmarks).Assembly).Run(args);
return 0;
