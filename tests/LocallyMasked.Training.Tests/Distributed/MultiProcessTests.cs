using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LocallyMasked.MpiProbe;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// The binding over real MPI: jobs of 2 and 3 ranks started with MPICH's mpiexec on the probe, whose printed results are
/// compared with computations made here from the same per-rank data.
/// </summary>
public class MultiProcessTests
{
    private const string Everything = "constants info allreduce broadcast barrier allgather gradients settings";

    private static MpiJob.Result Job(int ranks)
    {
        var job = MpiJob.Cached(ranks, Everything.Split(' '));
        job.Code.Should().Be(0, job.ToString());
        return job;
    }

    private static string Digest<T>(T[] values) where T : unmanaged => Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_constant_of_the_binding_is_what_MPI_takes_it_for(int ranks)
    {
        var job = Job(ranks);
        for (int r = 0; r < ranks; r++) job.Lines(r, "constants").Should().Equal(["ok"], job.ToString());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Ranks_know_their_size_machine_and_thread_level(int ranks)
    {
        var job = Job(ranks);
        for (int r = 0; r < ranks; r++)
        {
            var info = job.Lines(r, "info").Should().ContainSingle().Which;
            // One machine: the local ranks are the ranks.
            info.Should().StartWith($"size {ranks} local {r} {ranks} thread Serialized root {r == 0} processor ");
            info.Should().Contain("library MPICH Version:");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Allreduce_equals_one_process_adding_the_ranks_in_order_bit_for_bit(int ranks)
    {
        // 4 ranks: where MPICH 4.0.2's own MPI_Allreduce adds in another order (docs/cluster.md, "Sums in a fixed order").
        var job = ranks <= 3 ? Job(ranks) : MpiJob.Cached(ranks, "allreduce");
        job.Code.Should().Be(0, job.ToString());
        foreach (int count in ProbeData.AllreduceCounts)
        {
            string floats = Digest(SumReference.Floats(ranks, count, SumReference.InRankOrder));
            string doubles = Digest(SumReference.Doubles(ranks, count));
            for (int r = 0; r < ranks; r++)
            {
                job.Lines(r, "allreduce").Should().Contain($"float {count} {floats}", $"rank {r}, {count} floats");
                job.Lines(r, "allreduce").Should().Contain($"double {count} {doubles}", $"rank {r}, {count} doubles");
            }
        }

        if (ranks >= 3)
        {
            // The data round differently in another order, so the equality above checks the order too.
            string reversed = Digest(SumReference.Floats(ranks, 300_000, (k, n) => n - 1 - k));
            reversed.Should().NotBe(Digest(SumReference.Floats(ranks, 300_000, SumReference.InRankOrder)));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Broadcasts_give_every_rank_rank_zeros_values(int ranks)
    {
        var job = Job(ranks);
        var expected = new[]
        {
            $"byte {Digest(ProbeData.Bytes(0, 1000, ProbeData.Seed))}",
            $"float {Digest(ProbeData.Floats(0, 1000, ProbeData.Seed))}",
            $"double {Digest(ProbeData.Doubles(0, 1000, ProbeData.Seed))}",
            $"bytes 12345 {Digest(ProbeData.Bytes(0, 12_345, ProbeData.Seed))}",
        };
        Digest(ProbeData.Floats(1, 1000, ProbeData.Seed)).Should().NotBe(Digest(ProbeData.Floats(0, 1000, ProbeData.Seed)));
        for (int r = 0; r < ranks; r++) job.Lines(r, "broadcast").Should().Equal(expected, $"rank {r}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void No_rank_leaves_the_barrier_before_the_last_arrives(int ranks)
    {
        var job = Job(ranks);
        long Time(int rank, string what) =>
            long.Parse(job.Lines(rank, "barrier").Single(l => l.StartsWith(what, StringComparison.Ordinal)).Split(' ')[1], CultureInfo.InvariantCulture);
        long lastArrival = Enumerable.Range(0, ranks).Max(r => Time(r, "arrive"));
        // Rank r arrives 0.4 s x r after rank 0: rank 0 waited.
        (lastArrival - Time(0, "arrive")).Should().BeGreaterThan(TimeSpan.FromMilliseconds(300).Ticks);
        for (int r = 0; r < ranks; r++) Time(r, "leave").Should().BeGreaterThanOrEqualTo(lastArrival, $"rank {r}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Allgather_returns_every_ranks_values_in_rank_order(int ranks)
    {
        var job = Job(ranks);
        var r = Enumerable.Range(0, ranks).ToArray();
        var expected = new[]
        {
            $"int {string.Join(',', r.Select(k => 7 * k + 1))}",
            $"long {string.Join(',', r.Select(k => (1L << 40) * k + 3))}",
            $"double {string.Join(',', r.Select(k => (k + 0.25).ToString(CultureInfo.InvariantCulture)))}",
            $"concatenated doubles {r.Sum(ProbeData.GatheredCount)} {Digest(r.SelectMany(k => ProbeData.Doubles(k, ProbeData.GatheredCount(k), ProbeData.Seed)).ToArray())}",
            $"concatenated floats {r.Sum(ProbeData.GatheredCount)} {Digest(r.SelectMany(k => ProbeData.Floats(k, ProbeData.GatheredCount(k), ProbeData.Seed)).ToArray())}",
        };
        for (int k = 0; k < ranks; k++) job.Lines(k, "allgather").Should().Equal(expected, $"rank {k}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Gradient_buckets_over_MPI_equal_the_trainers_sum_of_shards(int ranks)
    {
        var job = Job(ranks);
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            var gradients = Enumerable.Range(0, ProbeData.Shapes.Length).Select(i => SumReference.Gradient(ranks, i, dtype)).ToArray();
            var tensors = Enumerable.Range(0, ProbeData.Shapes.Length).Select(i => SumReference.Tensor(ranks, i, dtype)).ToArray();
            foreach (int bucket in ProbeData.BucketSizes)
            for (int r = 0; r < ranks; r++)
            {
                job.Lines(r, "gradients").Where(l => l.StartsWith($"{dtype} {bucket} ", StringComparison.Ordinal))
                    .Should().Equal(gradients.Select((d, i) => $"{dtype} {bucket} {i} {d}"), $"rank {r}, buckets of {bucket}");
                job.Lines(r, "tensors").Where(l => l.StartsWith($"{dtype} {bucket} ", StringComparison.Ordinal))
                    .Should().Equal(tensors.Select((d, i) => $"{dtype} {bucket} {i} {d}"), $"rank {r}, buckets of {bucket}");
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Ranks_with_the_same_settings_agree(int ranks)
    {
        var job = Job(ranks);
        for (int r = 0; r < ranks; r++) job.Lines(r, "settings").Should().Equal(["agreed"]);
    }
}
