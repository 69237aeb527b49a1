using LocallyMasked.MpiProbe;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// Data-parallel training over real MPI: the probe's ranks train <see cref="ProbeTraining"/> with
/// <see cref="LocallyMasked.Training.Distributed.MpiDataParallelGroup"/> and print their losses and state digests, which
/// must equal each other and one process's run with as many workers, computed here; and the roll call that names a lost rank.
/// </summary>
public class MultiProcessTrainingTests
{
    private static List<string> OneProcess(int workers)
    {
        int threads = get_num_threads();
        set_num_threads(workers);
        try
        {
            var (model, trainer) = ProbeTraining.Create(null, workers);
            using (model)
            using (trainer)
                return ProbeTraining.Run(trainer, ProbeTraining.Steps);
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Ranks_train_bit_for_bit_as_one_process_with_a_worker_per_rank_and_hold_the_same_state(int ranks)
    {
        var job = MpiJob.Cached(ranks, "train", "train-stop", "roll-call");
        job.Code.Should().Be(0, job.ToString());
        var expected = OneProcess(ranks);
        expected.Should().Contain(l => l.StartsWith("test ", StringComparison.Ordinal));
        for (int r = 0; r < ranks; r++) job.Lines(r, "train").Should().Equal(expected, $"rank {r}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_stop_asked_on_the_last_rank_stops_every_rank_after_the_same_step(int ranks)
    {
        var job = MpiJob.Cached(ranks, "train", "train-stop", "roll-call");
        job.Code.Should().Be(0, job.ToString());
        var first = job.Lines(0, "train-stop");
        first.Should().HaveCount(2).And.Contain("stopped True at 3");
        for (int r = 1; r < ranks; r++) job.Lines(r, "train-stop").Should().Equal(first, $"rank {r}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_roll_call_gives_every_rank_every_ranks_value(int ranks)
    {
        var job = MpiJob.Cached(ranks, "train", "train-stop", "roll-call");
        job.Code.Should().Be(0, job.ToString());
        string expected = string.Join(',', Enumerable.Range(10, ranks));
        for (int r = 0; r < ranks; r++) job.Lines(r, "roll-call").Should().Equal([expected], $"rank {r}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_rank_lost_before_a_roll_call_is_named_by_rank_zero_in_one_line(int ranks)
    {
        // -disable-auto-cleanup keeps mpiexec from ending the job when the rank exits: the roll call's timeout must.
        var job = MpiJob.Run(ranks, ["-disable-auto-cleanup"], "--timeout-ms", "3000", "roll-call-lost");
        job.Code.Should().Be(4, job.ToString());
        job.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), job.ToString());
        job.ErrLines.Should().Contain($"rank {ranks - 1} exits early");
        job.ErrLines.Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).Should().Equal(
            [$"error: MPI roll call at the probe's roll call: rank {ranks - 1} of {ranks} did not report to rank 0 within 3 s: it stopped, hangs or cannot be reached"],
            job.ToString());
        job.Out.Should().NotContain("roll-call ");
    }
}
