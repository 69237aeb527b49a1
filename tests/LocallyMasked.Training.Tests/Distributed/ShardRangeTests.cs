using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

public class ShardRangeTests
{
    [Theory]
    [InlineData(4, int.MaxValue)]
    [InlineData(int.MaxValue, int.MaxValue)]
    [InlineData(int.MaxValue - 1, int.MaxValue / 2 + 1)]
    public void A_batch_size_near_int_max_does_not_wrap_to_no_batch(int total, int batchSize)
    {
        var whole = new Shard(0, 1).RangeOf(total, batchSize);
        whole.Start.Should().Be(0);
        whole.Count.Should().Be(total);
        // Two parts of one batch: the first holds it all, the second none; of two batches, one each.
        long batches = ((long)total + batchSize - 1) / batchSize;
        var first = new Shard(0, 2).RangeOf(total, batchSize);
        var second = new Shard(1, 2).RangeOf(total, batchSize);
        (first.Count + (long)second.Count).Should().Be(total);
        if (batches == 1) second.Count.Should().Be(0);
        else first.Count.Should().Be(batchSize);
    }
}
