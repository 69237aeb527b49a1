using LocallyMasked.MpiProbe;
using LocallyMasked.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// The gradient reduction's buckets and layout, with ranks simulated by threads (<see cref="ThreadRanks"/>); the same
/// reduction over MPI is in <see cref="MultiProcessTests"/>.
/// </summary>
public class GradientAllreduceTests
{
    public static TheoryData<int, int, ScalarType> Cases()
    {
        var cases = new TheoryData<int, int, ScalarType>();
        foreach (int ranks in new[] { 2, 3 })
        foreach (int bucket in new[] { 1, 5, 37, GradientAllreduce.DefaultBucketElements })
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
            cases.Add(ranks, bucket, dtype);
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_become_the_sum_one_process_computes_in_rank_order(int ranks, int bucket, ScalarType dtype)
    {
        var simulated = new ThreadRanks(ranks);
        var results = new string[ranks][];
        simulated.Run(rank =>
        {
            using var scope = NewDisposeScope();
            using var reduction = new GradientAllreduce(simulated.Ranks[rank], bucket);
            var parameters = ProbeData.Shapes.Select((shape, i) => Parameter(shape, dtype, ProbeData.Gradient(rank, i, dtype))).ToArray();
            reduction.SumGradients(parameters);
            results[rank] = parameters.Select(p => p.grad is { } g ? ProbeData.Digest(g) : "none").ToArray();
        });

        var expected = Enumerable.Range(0, ProbeData.Shapes.Length).Select(i => SumReference.Gradient(ranks, i, dtype)).ToArray();
        expected[ProbeData.MissingEverywhere].Should().Be("none");
        expected[ProbeData.MissingOnRankOne].Should().NotBe("none");
        for (int r = 0; r < ranks; r++) results[r].Should().Equal(expected, $"rank {r}'s gradients");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tensors_summed_in_place_include_views_written_back(int ranks, int bucket, ScalarType dtype)
    {
        var simulated = new ThreadRanks(ranks);
        var results = new string[ranks][];
        simulated.Run(rank =>
        {
            using var scope = NewDisposeScope();
            using var reduction = new GradientAllreduce(simulated.Ranks[rank], bucket);
            var tensors = ProbeData.Shapes.Select((_, i) => ProbeData.Tensor(rank, i, dtype)).ToArray();
            tensors[ProbeData.Transposed].is_contiguous().Should().BeFalse();
            reduction.SumInPlace(tensors);
            results[rank] = tensors.Select(ProbeData.Digest).ToArray();
        });

        var expected = Enumerable.Range(0, ProbeData.Shapes.Length).Select(i => SumReference.Tensor(ranks, i, dtype)).ToArray();
        for (int r = 0; r < ranks; r++) results[r].Should().Equal(expected, $"rank {r}'s tensors");
    }

    [Fact]
    public void Buckets_hold_presence_flags_then_elements_in_parameter_order()
    {
        var simulated = new ThreadRanks(2);
        long elements = ProbeData.Shapes.Sum(s => s.Aggregate(1L, (a, b) => a * b));
        simulated.Run(rank =>
        {
            using var scope = NewDisposeScope();
            using var reduction = new GradientAllreduce(simulated.Ranks[rank], 37);
            reduction.SumGradients(ProbeData.Shapes.Select((shape, i) => Parameter(shape, ScalarType.Float32, ProbeData.Gradient(rank, i, ScalarType.Float32))).ToArray());
        });

        long total = ProbeData.Shapes.Length + elements;
        int buckets = (int)((total + 36) / 37);
        simulated.Operations.Should().HaveCount(buckets);
        simulated.Operations[0].Should().Be($"allreduce of gradients, bucket 1 of {buckets} (37 floats)");
        simulated.Operations[^1].Should().Be($"allreduce of gradients, bucket {buckets} of {buckets} ({total - 37 * (buckets - 1)} floats)");
    }

    [Fact]
    public void A_reduction_leaves_no_live_tensors_behind()
    {
        var simulated = new ThreadRanks(1);
        simulated.Run(_ =>
        {
            using var reduction = new GradientAllreduce(simulated.Ranks[0], 37);
            var parameters = ProbeData.Shapes.Select((shape, i) => Parameter(shape, ScalarType.Float32, ProbeData.Gradient(0, i, ScalarType.Float32))).ToArray();
            reduction.SumGradients(parameters);
            long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            reduction.SumGradients(parameters);
            reduction.SumInPlace(parameters);
            DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(live);
        });
    }

    [Fact]
    public void Bad_lists_are_refused_with_the_element_named()
    {
        using var reduction = new GradientAllreduce(new ThreadRanks(1).Ranks[0], 16);
        using var half = zeros(3, ScalarType.Float16);
        using var single = zeros(3);
        using var twice = zeros(3, ScalarType.Float64);
        reduction.Invoking(r => r.SumInPlace([single, half])).Should().Throw<ArgumentException>()
            .WithMessage("Element 1 is Float16: expected float32 or float64*").WithParameterName("tensors");
        reduction.Invoking(r => r.SumInPlace([single, twice])).Should().Throw<ArgumentException>()
            .WithMessage("Element 1 is Float64 on cpu, element 0 Float32 on cpu: expected one data type and one device*");
        reduction.Invoking(r => r.SumGradients([single, null!])).Should().Throw<ArgumentException>()
            .WithMessage("Element 1 is null*").WithParameterName("parameters");
        FluentActions.Invoking(() => new GradientAllreduce(new ThreadRanks(1).Ranks[0], 0)).Should().Throw<ArgumentOutOfRangeException>();
        reduction.Dispose();
        reduction.Invoking(r => r.SumInPlace([single])).Should().Throw<ObjectDisposedException>();
    }

    private static TorchSharp.Modules.Parameter Parameter(long[] shape, ScalarType dtype, Tensor? gradient)
    {
        var parameter = new TorchSharp.Modules.Parameter(zeros(shape, dtype));
        parameter.grad = gradient;
        return parameter;
    }
}
