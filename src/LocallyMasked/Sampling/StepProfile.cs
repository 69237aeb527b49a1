using System.Diagnostics;

namespace LocallyMasked.Sampling;

/// <summary>
/// Where the cached sampler's steps spend their time: wall-clock time and torch operations per phase, summed over the
/// steps of one call (for the benchmarks' <c>sampling-report --profile</c>). On the CPU every operation has finished
/// when it returns, so a stopwatch around it measures it; on CUDA it measures only the launch.
/// </summary>
internal sealed class StepProfile
{
    private readonly long[] _ticks = new long[Enum.GetValues<StepPhase>().Length];
    private readonly long[] _operations = new long[Enum.GetValues<StepPhase>().Length];

    /// <summary>Steps recorded.</summary>
    public int Steps { get; private set; }

    /// <summary>Tensors created during the steps (every torch operation that returns a new tensor or view).</summary>
    public long TensorsCreated { get; private set; }

    /// <summary>Total time of the steps, scope disposal included.</summary>
    public TimeSpan Total { get; private set; }

    /// <summary>The time spent in a phase.</summary>
    public TimeSpan Time(StepPhase phase) => Stopwatch.GetElapsedTime(0, _ticks[(int)phase]);

    /// <summary>The torch operations counted in a phase (calls that run a kernel, in place or not).</summary>
    public long Operations(StepPhase phase) => _operations[(int)phase];

    internal static long Now() => Stopwatch.GetTimestamp();

    /// <summary>Adds the time since <paramref name="mark"/> to a phase and moves the mark to now.</summary>
    internal void Lap(StepPhase phase, ref long mark, int operations)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[(int)phase] += now - mark;
        _operations[(int)phase] += operations;
        mark = now;
    }

    internal void AddStep(long startTimestamp, long tensorsCreated)
    {
        Steps++;
        Total += Stopwatch.GetElapsedTime(startTimestamp);
        TensorsCreated += tensorsCreated;
    }
}

/// <summary>The phases of a cached sampling step.</summary>
internal enum StepPhase
{
    /// <summary>Writing a convolution's input row into its cache (and the sampled pixels into the first layer's).</summary>
    Write,

    /// <summary>Gathering the k x k neighbourhood rows of all images.</summary>
    Gather,

    /// <summary>Matrix products: convolutions, the skip and output layers, the per-step mask terms.</summary>
    Product,

    /// <summary>concat_elu, normalization, the gate, skip additions.</summary>
    Elementwise,

    /// <summary>Drawing the pixels from the distribution parameters.</summary>
    Sample,

    /// <summary>Disposing the step's temporaries at the end of its scope.</summary>
    Dispose,
}
