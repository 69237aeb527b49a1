using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;

namespace LocallyMasked.Benchmarks;

/// <summary>Short in-process job: 2 warm-up and 5 measured steps per case, one step per iteration.</summary>
public sealed class LmConvBenchmarkConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public LmConvBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithToolchain(InProcessNoEmitToolchain.Instance));
        // Medians are robust to the odd slow step on a shared machine.
        AddColumn(StatisticColumn.Median);
    }
}
