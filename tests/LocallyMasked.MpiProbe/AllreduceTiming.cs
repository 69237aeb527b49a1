using System.Diagnostics;
using System.Globalization;
using LocallyMasked.Models;
using LocallyMasked.Training.Distributed;
using static TorchSharp.torch;

namespace LocallyMasked.MpiProbe;

/// <summary>
/// Milliseconds per allreduce of N floats: the fixed-order sum (<see cref="MpiCommunicator.AllreduceSum(Span{float}, TimeSpan?)"/>)
/// against MPICH's own MPI_Iallreduce, each repeated after a barrier; rank 0 prints the median and the bytes each rank
/// sends. Then the whole gradient reduction (<see cref="GradientAllreduce.SumGradients"/>: copies in and out of the
/// buckets included) of the models whose sizes these are.
/// </summary>
internal static class AllreduceTiming
{
    // The parameter counts of the default, 32-filter and 60-filter binary models (the probe's "parameters" scenario).
    private static readonly int[] DefaultCounts = [123_316, 491_364, 2_913_784];

    public static void Run(MpiCommunicator communicator, string? counts, Action<string> print)
    {
        var sizes = counts is null ? DefaultCounts : counts.Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        int p = communicator.Size;
        foreach (int count in sizes)
        {
            var values = GC.AllocateArray<float>(count, pinned: true);
            int repeats = Math.Clamp(20_000_000 / Math.Max(count, 1), 10, 200);
            double ours = Median(repeats, communicator, () => communicator.AllreduceSum(values.AsSpan()));
            double theirs = Median(repeats, communicator, () => communicator.NativeAllreduceSum(values, count));
            // Each rank sends its P - 1 foreign segments, then its summed segment to P - 1 ranks: 2 (P - 1) / P of the array.
            long sent = 2L * (p - 1) * count / p * sizeof(float);
            if (communicator.IsRoot)
                print(string.Create(CultureInfo.InvariantCulture,
                    $"timing {count} floats ({count * 4L:N0} bytes), ranks {p}, repeats {repeats}: fixed order {ours:F3} ms, MPI_Iallreduce {theirs:F3} ms, sent per rank {sent:N0} bytes"));
        }

        if (counts is not null) return;
        foreach (var (name, config) in ParameterCounts.BinaryModels)
        {
            using var scope = NewDisposeScope();
            using var model = new LocallyMaskedPixelCnn(config);
            var parameters = model.parameters().ToArray();
            foreach (var parameter in parameters) parameter.grad = randn_like(parameter);
            using var reduction = new GradientAllreduce(communicator);
            long count = parameters.Sum(t => t.numel());
            int repeats = (int)Math.Clamp(20_000_000 / count, 10, 200);
            double milliseconds = Median(repeats, communicator, () => reduction.SumGradients(parameters));
            if (communicator.IsRoot)
                print(string.Create(CultureInfo.InvariantCulture,
                    $"timing gradients of {name}: {parameters.Length} tensors, {count:N0} floats, ranks {p}, repeats {repeats}: {milliseconds:F3} ms"));
        }
    }

    private static double Median(int repeats, MpiCommunicator communicator, Action allreduce)
    {
        for (int i = 0; i < 3; i++) allreduce();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            communicator.Barrier();
            long start = Stopwatch.GetTimestamp();
            allreduce();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        // Every rank's time of repeat i is the same operation: rank 0 reports the slowest rank's median.
        Array.Sort(times);
        return communicator.Allgather(times[repeats / 2]).Max();
    }
}
