using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

public class EnsembleChunkingTests
{
    [Fact]
    public void Chunks_that_run_out_of_memory_are_halved_and_retried()
    {
        var sizes = new List<long>();
        var result = ModelLikelihoods.EvaluateInChunks(11, null, (start, count) =>
        {
            sizes.Add(count);
            if (count > 3) throw new System.Runtime.InteropServices.ExternalException("CUDA out of memory. Tried to allocate 2.00 GiB");
            return arange(start, start + count, dtype: ScalarType.Float64);
        });
        result.data<double>().ToArray().Should().Equal(Enumerable.Range(0, 11).Select(i => (double)i));
        sizes.Take(3).Should().Equal(11L, 6L, 3L);
        sizes.Skip(3).Should().OnlyContain(c => c <= 3);
    }

    [Fact]
    public void Other_failures_and_fixed_chunk_sizes_are_not_retried()
    {
        Action act = () => ModelLikelihoods.EvaluateInChunks(8, 4, (start, count) =>
            throw new System.Runtime.InteropServices.ExternalException("CUDA out of memory"));
        act.Should().Throw<System.Runtime.InteropServices.ExternalException>();
        act = () => ModelLikelihoods.EvaluateInChunks(8, null, (start, count) => throw new InvalidOperationException("bug"));
        act.Should().Throw<InvalidOperationException>();
    }
}
