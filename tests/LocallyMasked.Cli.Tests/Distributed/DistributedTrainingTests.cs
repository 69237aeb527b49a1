using System.Text.RegularExpressions;

namespace LocallyMasked.Cli.Tests.Distributed;

/// <summary>
/// <c>mpiexec -n N lmconv train</c>: two ranks train the model of one process with the same seed and global batch, bit for
/// bit against one process with a worker per rank (one thread per shard), within the stated tolerance against one pass;
/// rank 0 alone prints and writes; a signal on one rank stops both after the same step with one checkpoint, and --resume
/// continues exactly; a rank that hangs is named; ranks started differently, Open MPI and a library that is not MPI are
/// refused in one line.
/// </summary>
public sealed class DistributedTrainingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-mpi-train-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly string[] TwoRanks = ["-n", "2"];

    /// <summary>The tiny run with a periodic evaluation (its test lines must agree too) and a checkpoint every 10 steps.</summary>
    private string[] Training(string name, int steps, params string[] more) =>
        Lmconv.TinyTraining(Path.Combine(dir, name), steps, ["--eval-every", "10", "--eval-images", "8", "--checkpoint-every", "10", .. more]);

    private string Checkpoint(string name) => Path.Combine(dir, name, "model.ckpt");

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void Two_ranks_train_20_steps_as_one_process_does_bit_for_bit_with_two_workers_and_within_tolerance_in_one_pass()
    {
        var ranks = MpiLmconv.Run(TwoRanks, Training("ranks", 20, "--threads", "1"));
        ranks.Code.Should().Be(0, ranks.Err);
        ranks.Err.Should().BeEmpty("no rank prints anything on standard error without an error");
        var workers = Lmconv.Run(Training("workers", 20, "--threads", "2", "--workers", "2"));
        workers.Code.Should().Be(0, workers.Err);
        var onePass = Lmconv.Run(Training("one-pass", 20, "--threads", "1", "--workers", "1"));
        onePass.Code.Should().Be(0, onePass.Err);

        // Rank 0 alone prints: every line once, the same training and test lines as one process with two workers.
        var printed = Lines(ranks.Out);
        printed.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Should().ContainSingle();
        printed.Should().ContainSingle(l => l.StartsWith("mpi: 2 ranks on 1 machine (MPICH", StringComparison.Ordinal));
        string[] Results(string text) => Lines(text).Where(l => Regex.IsMatch(l, @"^(step \d+: test|trained|\| )")).Select(l => Regex.Replace(l, @" in \d+ s \(.*\)", "")).ToArray();
        Results(ranks.Out).Should().HaveCount(Results(workers.Out).Length).And.Equal(Results(workers.Out).Select(l => l.Replace("workers", "ranks")));

        // Rank 0 alone writes: the files of one process, no more (rank 1 would add its own log or samples).
        static string[] Files(string folder) => Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Regex.Replace(Path.GetRelativePath(folder, f), @"events\.out\.tfevents\..*", "events")).Order(StringComparer.Ordinal).ToArray();
        Files(Path.Combine(dir, "ranks")).Should().Equal(Files(Path.Combine(dir, "workers")));

        // The same weights and Adam state, bit for bit.
        var (rankWeights, rankOptimizer) = MpiLmconv.State(Checkpoint("ranks"));
        var (workerWeights, workerOptimizer) = MpiLmconv.State(Checkpoint("workers"));
        rankWeights.Keys.Should().Equal(workerWeights.Keys);
        foreach (var (name, bytes) in rankWeights) bytes.Should().Equal(workerWeights[name], name);
        rankOptimizer.Should().Equal(workerOptimizer);

        // One pass adds the batch's terms in another order: after 20 steps within the tolerance docs/cluster.md states.
        var a = MpiLmconv.Weights(Checkpoint("ranks"));
        var b = MpiLmconv.Weights(Checkpoint("one-pass"));
        double largest = a.Keys.Max(name => a[name].Zip(b[name]).Max(pair => Math.Abs(pair.First - pair.Second)));
        largest.Should().BeGreaterThan(0, "the one-pass sums differ in their last bits (else this comparison shows nothing)");
        largest.Should().BeLessThan(1e-3);
    }

    [Fact]
    public void A_rank_whose_machine_lacks_the_checkpoint_resumes_from_rank_0s_bytes()
    {
        // Relative paths, rank 0 started in a folder holding the checkpoint and rank 1 in an empty one: the two ranks of
        // a job over machines without a shared file system.
        string first = Directory.CreateDirectory(Path.Combine(dir, "rank0")).FullName;
        string second = Directory.CreateDirectory(Path.Combine(dir, "rank1")).FullName;
        string straight = Directory.CreateDirectory(Path.Combine(dir, "straight")).FullName;
        string[] Tiny(int steps, params string[] more) => Lmconv.TinyTraining("out", steps, ["--threads", "1", "--checkpoint-every", "1000", .. more]);
        MpiLmconv.Run(["-n", "2", "-wdir", first], Tiny(6)).Code.Should().Be(0);
        string[] again = ["train", "--resume", Path.Combine("out", "model.ckpt"), "--steps", "9", "--threads", "1", "--train-images", "64",
            "--eval-every", "0", "--final-eval-images", "4", "--samples", "0", "--checkpoint-every", "1000", "--output", "out"];
        var resumed = MpiLmconv.Run(["-n", "1", "-wdir", first], [.. again, ":", "-n", "1", "-wdir", second, Lmconv.Executable, .. again]);
        resumed.Code.Should().Be(0, resumed.Err);
        Directory.GetFileSystemEntries(second).Should().BeEmpty("rank 1 writes nothing, and its copy of the checkpoint is private and removed");
        MpiLmconv.Run(["-n", "2", "-wdir", straight], Tiny(9)).Code.Should().Be(0);

        var (resumedWeights, resumedOptimizer) = MpiLmconv.State(Path.Combine(first, "out", "model.ckpt"));
        var (straightWeights, straightOptimizer) = MpiLmconv.State(Path.Combine(straight, "out", "model.ckpt"));
        foreach (var (name, bytes) in resumedWeights) bytes.Should().Equal(straightWeights[name], name);
        resumedOptimizer.Should().Equal(straightOptimizer);
    }

    [Fact]
    public void A_SIGTERM_to_one_rank_stops_both_after_the_same_step_with_one_checkpoint_and_resume_continues_exactly()
    {
        string stopped = Path.Combine(dir, "stopped");
        var (job, output, error) = MpiLmconv.Start(TwoRanks, Lmconv.TinyTraining(stopped, 400, "--threads", "1", "--checkpoint-every", "1000"));
        using (job)
        {
            try
            {
                Lmconv.WaitUntil(job, () => { lock (output) return Regex.IsMatch(output.ToString(), @"step \d+/400"); }, TimeSpan.FromMinutes(5))
                    .Should().BeTrue($"training should be under way: {output}{error}");
                Lmconv.Signal(MpiLmconv.RankProcess(1, stopped), 15);
                job.WaitForExit(TimeSpan.FromMinutes(2)).Should().BeTrue("both ranks stop");
                job.WaitForExit();
                job.ExitCode.Should().Be(143, error.ToString());
            }
            finally
            {
                if (!job.HasExited) job.Kill(entireProcessTree: true);   // a failed assertion leaves no job running
            }
        }

        var stop = Regex.Match(error.ToString(), @"^lmconv: stopped on every rank after step (\d+): rank 1 received SIGTERM\.$", RegexOptions.Multiline);
        stop.Success.Should().BeTrue(error.ToString());
        int step = int.Parse(stop.Groups[1].Value);
        output.ToString().Should().Contain($"checkpoint {Path.Combine(stopped, "model.ckpt")} at step {step}");
        Directory.GetFiles(stopped, "*.ckpt").Should().ContainSingle();

        var resumed = MpiLmconv.Run(TwoRanks, ["train", "--resume", Checkpoint("stopped"), "--steps", $"{step + 3}", "--threads", "1", "--train-images", "64",
            "--eval-every", "0", "--final-eval-images", "4", "--samples", "0", "--checkpoint-every", "1000", "--output", stopped]);
        resumed.Code.Should().Be(0, resumed.Err);
        var straight = MpiLmconv.Run(TwoRanks, Lmconv.TinyTraining(Path.Combine(dir, "straight"), step + 3, "--threads", "1", "--checkpoint-every", "1000"));
        straight.Code.Should().Be(0, straight.Err);
        var (resumedWeights, resumedOptimizer) = MpiLmconv.State(Checkpoint("stopped"));
        var (straightWeights, straightOptimizer) = MpiLmconv.State(Checkpoint("straight"));
        foreach (var (name, bytes) in resumedWeights) bytes.Should().Equal(straightWeights[name], name);
        resumedOptimizer.Should().Equal(straightOptimizer);
    }

    [Fact]
    public void A_rank_that_hangs_makes_rank_zero_end_the_job_with_one_line_naming_it_after_the_timeout()
    {
        string output = Path.Combine(dir, "hang");
        var (job, printed, error) = MpiLmconv.Start(TwoRanks, Lmconv.TinyTraining(output, 1000, "--threads", "1", "--checkpoint-every", "1000", "--mpi-timeout", "10"));
        using (job)
        {
            try
            {
                Lmconv.WaitUntil(job, () => { lock (printed) return Regex.IsMatch(printed.ToString(), @"step \d+/1000"); }, TimeSpan.FromMinutes(5))
                    .Should().BeTrue($"training should be under way: {printed}{error}");
                int rank1 = MpiLmconv.RankProcess(1, output);
                Lmconv.Signal(rank1, 19);   // SIGSTOP: the rank hangs (MPI_Abort's SIGKILL still ends it)
                job.WaitForExit(TimeSpan.FromMinutes(1)).Should().BeTrue("rank 0 gives up after 10 s and aborts the job");
                job.WaitForExit();
                job.ExitCode.Should().Be(1, error.ToString());
            }
            finally
            {
                if (!job.HasExited) job.Kill(entireProcessTree: true);   // a failed assertion leaves no job running
            }
        }

        var lines = Lines(error.ToString()).Where(l => l.StartsWith("lmconv: ", StringComparison.Ordinal)).ToArray();
        // Rank 1 is almost always stopped while computing its shards, and rank 0 then waits in the step's roll call.
        lines.Should().ContainSingle().Which.Should().MatchRegex(
            @"^lmconv: rank 0 of 2: MPI (roll call at the end of step \d+: rank 1 of 2 did not report to rank 0 within 10 s: it stopped, hangs or cannot be reached|allreduce .* did not complete within 10 s on rank 0 of 2: another rank stopped, hangs or cannot be reached) \(--mpi-timeout sets how long ranks wait\)$");
    }

    [Fact]
    public void Ranks_started_with_other_arguments_refuse_in_one_line()
    {
        string output = Path.Combine(dir, "differ");
        // MPMD: one mpiexec, rank 0 with --seed 1 and rank 1 with --seed 2.
        var result = MpiLmconv.Run(["-n", "1"], [.. Lmconv.TinyTraining(output, 2, "--seed", "1"), ":", "-n", "1", Lmconv.Executable, .. Lmconv.TinyTraining(output, 2, "--seed", "2")]);
        result.Code.Should().Be(1, result.Err);
        result.Err.Should().Be("lmconv: rank 1 was started with other settings than rank 0: start every rank with the same command line" + Environment.NewLine);
        Directory.Exists(output).Should().BeFalse("nothing is written");
    }
}
