namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// Jobs that must end, and say why in one line: a rank that hangs, a rank that exits early, ranks started with other
/// settings, and use of the API after MPI was finalized.
/// </summary>
public class MultiProcessFailureTests
{
    // The probe's collectives wait 3 s; a stalled rank sleeps 2 minutes, so a job that ends sooner was ended by the timeout.
    private static readonly string[] ShortTimeout = ["--timeout-ms", "3000"];
    private static readonly TimeSpan WellBeforeTheStalledRankWakes = TimeSpan.FromSeconds(60);

    [Fact]
    public void A_rank_that_hangs_makes_the_others_fail_with_one_line_naming_the_collective_and_abort_the_job()
    {
        var job = MpiJob.Run(2, [], [.. ShortTimeout, "stall"]);
        job.Code.Should().Be(4, job.ToString());
        job.Elapsed.Should().BeLessThan(WellBeforeTheStalledRankWakes, job.ToString());
        job.ErrLines.Should().Contain(
            "error: MPI allreduce (sum of 1,000 floats), exchange of segments did not complete within 3 s on rank 0 of 2: another rank stopped, hangs or cannot be reached",
            job.ToString());
        job.Out.Should().NotContain("allreduce done");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_rank_that_exits_early_makes_the_others_fail_within_the_timeout_with_one_line(int ranks)
    {
        // -disable-auto-cleanup keeps mpiexec from stopping the other ranks itself (as Slurm may not): the timeout must.
        var job = MpiJob.Run(ranks, ["-disable-auto-cleanup"], [.. ShortTimeout, "exit-early"]);
        job.Code.Should().Be(4, job.ToString());
        job.Elapsed.Should().BeLessThan(WellBeforeTheStalledRankWakes, job.ToString());
        job.ErrLines.Should().Contain($"rank {ranks - 1} exits early");
        job.ErrLines.Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).Should().NotBeEmpty(job.ToString())
            .And.AllSatisfy(l => l.Should().MatchRegex(
                $"^error: MPI allreduce \\(sum of 1,000 floats\\), exchange of segments did not complete within 3 s on rank [0-{ranks - 2}] of {ranks}: another rank stopped, hangs or cannot be reached$"));
        job.Out.Should().NotContain("allreduce done");
    }

    [Fact]
    public void Under_MPICHs_own_cleanup_a_rank_that_exits_early_ends_the_job_at_once()
    {
        var job = MpiJob.Run(2, [], [.. ShortTimeout, "exit-early"]);
        job.Code.Should().NotBe(0, job.ToString());
        job.Elapsed.Should().BeLessThan(WellBeforeTheStalledRankWakes, job.ToString());
        job.ErrLines.Should().Contain("rank 1 exits early");
        job.Out.Should().NotContain("allreduce done");
    }

    [Fact]
    public void Ranks_started_with_other_settings_all_refuse_with_the_same_line()
    {
        var job = MpiJob.Run(3, [], "settings-differ");
        job.Code.Should().Be(1, job.ToString());
        job.ErrLines.Should().Equal(Enumerable.Repeat(
            "error: rank 1 was started with other settings than rank 0: start every rank with the same command line", 3), job.ToString());
    }

    [Fact]
    public void After_finalization_collectives_and_a_second_initialization_are_refused_with_clear_messages()
    {
        var job = MpiJob.Run(2, [], "after-dispose");
        job.Code.Should().Be(0, job.ToString());
        for (int r = 0; r < 2; r++)
            job.Lines(r, "after-dispose").Should().Equal(
            [
                "initialized-twice MPI is already initialized in this process: initialize it once and share that communicator.",
                "barrier MPI was finalized when this communicator was disposed: collectives need an initialized MPI (MpiCommunicator.Initialize, once per process).",
                "initialize MPI was finalized in this process (its communicator was disposed) and cannot be initialized again.",
            ], job.ToString());
    }
}
