using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>Parts of a piece of work cut at its batch boundaries (<see cref="Shard"/>, what --shard I/N and MPI ranks take).</summary>
public sealed class ShardTests
{
    [Theory]
    [InlineData(10, 2, 2)]
    [InlineData(10, 3, 4)]
    [InlineData(100, 8, 3)]
    [InlineData(7, 1, 7)]
    [InlineData(5, 8, 3)]     // one batch: parts 1 and 2 are empty
    [InlineData(1000, 32, 16)]
    public void The_parts_cover_every_image_once_in_order_each_starting_at_a_batch_boundary(int total, int batchSize, int parts)
    {
        var ranges = Enumerable.Range(0, parts).Select(i => new Shard(i, parts).RangeOf(total, batchSize)).ToArray();
        int next = 0;
        foreach (var range in ranges)
        {
            range.Start.Should().Be(next, "the parts follow each other without gap or overlap");
            if (range.Count > 0) (range.Start % batchSize).Should().Be(0, "a part begins where a batch of the whole work begins");
            next = range.End;
        }
        next.Should().Be(total);
        // Balanced: a part holds the batches that start in its even share, so no part exceeds its share by a batch or more.
        foreach (var range in ranges) range.Count.Should().BeLessThan((int)Math.Ceiling((double)total / parts) + batchSize);
    }

    [Fact]
    public void Parts_of_batches_of_unequal_sizes_begin_at_their_boundaries()
    {
        int[] sizes = [3, 3, 2, 3, 3, 2, 1];   // batches cut at sheets of 8 and at the end
        var starts = new HashSet<int>(sizes.Select((_, i) => sizes.Take(i).Sum()));
        for (int parts = 1; parts <= 8; parts++)
        {
            int next = 0;
            for (int i = 0; i < parts; i++)
            {
                var range = new Shard(i, parts).RangeOf(sizes);
                range.Start.Should().Be(next);
                if (range.Count > 0) starts.Should().Contain(range.Start);
                next = range.End;
            }
            next.Should().Be(sizes.Sum());
        }
    }

    [Fact]
    public void The_whole_work_is_one_part()
    {
        Shard.Whole.RangeOf(17, 4).Should().Be(new ImageRange(0, 17));
        Shard.Whole.IsWhole.Should().BeTrue();
        new Shard(0, 2).IsWhole.Should().BeFalse();
    }

    [Theory]
    [InlineData("0/2", 0, 2)]
    [InlineData("1/2", 1, 2)]
    [InlineData(" 3/4 ", 3, 4)]
    public void Parses_part_I_of_N_counted_from_zero(string text, int index, int count)
    {
        Shard.TryParse(text, out var error).Should().Be(new Shard(index, count));
        error.Should().BeNull();
        new Shard(index, count).ToString().Should().Be(text.Trim());
    }

    [Theory]
    [InlineData("2/2", "numbered 0 to 1")]
    [InlineData("1/0", "at least 1")]
    [InlineData("-1/2", "expected I/N")]
    [InlineData("1-2", "expected I/N")]
    [InlineData("auto", "expected I/N")]
    public void Refuses_anything_else_saying_why(string text, string why)
    {
        Shard.TryParse(text, out var error).Should().BeNull();
        error.Should().Contain(why);
    }

    [Fact]
    public void A_part_outside_the_count_cannot_be_made()
    {
        var act = () => new Shard(2, 2);
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "index");
        var none = () => new Shard(0, 0);
        none.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "count");
    }
}
