using LocallyMasked.Training.Runtime;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Runtime;

/// <summary>The worker threads behind sharded training and evaluation (<see cref="ShardWorkers"/>).</summary>
public sealed class ShardWorkersTests
{
    [Fact]
    public void EachWorkerKeepsItsShareOfThreadsAfterWorkingAndTheCallerKeepsItsOwn()
    {
        // libtorch resets a thread's count to the process-wide one at its first parallel operation unless that
        // initialisation ran before the count was set: a product first, then the count.
        int before = get_num_threads();
        using var workers = new ShardWorkers(2, 1);
        get_num_threads().Should().Be(before);
        var counts = workers.Run(_ =>
        {
            using var a = ones(64, 64);
            using var product = a.matmul(a);
            return get_num_threads();
        });
        counts.Should().Equal(1, 1);
        get_num_threads().Should().Be(before);
    }

    [Fact]
    public void AFailedShardHandsTheOthersResultsBackAndRethrows()
    {
        using var workers = new ShardWorkers(3, 1);
        var discarded = new List<int>();
        var act = () => workers.Run(i => i == 1 ? throw new InvalidOperationException("shard 1 failed") : i * 10, discard: r => discarded.Add(r));
        act.Should().Throw<InvalidOperationException>().WithMessage("shard 1 failed");
        discarded.Should().BeEquivalentTo(new[] { 0, 20 });
        // The workers go on after a failure.
        workers.Run(i => i).Should().Equal(0, 1, 2);
    }

    [Fact]
    public void StoppedWorkersAndWorkStartedFromAWorkerAreRefusedClearly()
    {
        var workers = new ShardWorkers(2, 1);
        var nested = workers.Run(_ =>
        {
            try
            {
                workers.Run(i => i);
                return "ran";
            }
            catch (InvalidOperationException e)
            {
                return e.Message;
            }
        });
        nested.Should().OnlyContain(message => message.Contains("wait for itself"));
        workers.Dispose();
        workers.Dispose();
        var afterDispose = () => workers.Run(i => i);
        afterDispose.Should().Throw<ObjectDisposedException>();
    }
}
