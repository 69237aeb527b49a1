using System.Globalization;
using LocallyMasked.Checkpoints;
using LocallyMasked.Cli;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.Logs;
using SkiaSharp;

namespace LocallyMasked.Cli.Tests;

/// <summary>
/// Reproducible runs, signals, logs and bounded memory. Out-of-process runs are used only where a real process is
/// needed (signals, kills, resident memory).
/// </summary>
public sealed class CliRunTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private const int SIGKILL = 9, SIGTERM = 15;
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-runs-").FullName;
    private readonly TinyCheckpoint fixture;

    public CliRunTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A run with dropout (drawn from torch's generator) and one thread (CPU sums depend on the thread count).</summary>
    private static string[] Seeded(string output, int steps, string seed, params string[] more) =>
        Lmconv.TinyTraining(output, steps, new[] { "--seed", seed, "--dropout", "0.3", "--threads", "1" }.Concat(more).ToArray());

    private static void Succeeds(Lmconv.Result run) => run.Code.Should().Be(0, run.Err);

    [Fact]
    public void TheSameSeedGivesByteIdenticalCheckpointsAndAnotherSeedDoesNot()
    {
        string a = Path.Combine(dir, "a"), b = Path.Combine(dir, "b"), c = Path.Combine(dir, "c");
        Succeeds(Lmconv.Run(Seeded(a, 3, "7")));
        Succeeds(Lmconv.Run(Seeded(b, 3, "7")));
        Succeeds(Lmconv.Run(Seeded(c, 3, "8")));
        File.ReadAllBytes(Path.Combine(a, "model.ckpt")).Should().Equal(File.ReadAllBytes(Path.Combine(b, "model.ckpt")));
        File.ReadAllBytes(Path.Combine(a, "model.ckpt")).Should().NotEqual(File.ReadAllBytes(Path.Combine(c, "model.ckpt")));
    }

    [Fact]
    public void RunsWithShardsOnTwoWorkersRepeatByteForByte()
    {
        // Dropout draws from a generator per shard, so the threads' interleaving cannot change what is drawn.
        string a = Path.Combine(dir, "w2a"), b = Path.Combine(dir, "w2b"), one = Path.Combine(dir, "w1");
        string[] Sharded(string output, string workers) =>
            Lmconv.TinyTraining(output, 3, "--seed", "7", "--dropout", "0.3", "--threads", "2", "--workers", workers);
        var first = Lmconv.Run(Sharded(a, "2"));
        Succeeds(first);
        first.Out.Should().Contain("2 threads in 2 workers");
        Succeeds(Lmconv.Run(Sharded(b, "2")));
        Succeeds(Lmconv.Run(Sharded(one, "1")));
        File.ReadAllBytes(Path.Combine(a, "model.ckpt")).Should().Equal(File.ReadAllBytes(Path.Combine(b, "model.ckpt")));
        File.ReadAllBytes(Path.Combine(a, "model.ckpt")).Should().NotEqual(File.ReadAllBytes(Path.Combine(one, "model.ckpt")),
            "one worker draws dropout from torch's generator, two from a generator per shard");
    }

    [Fact]
    public void EvaluationOnWorkersPrintsTheOnePassTable()
    {
        string output = Path.Combine(dir, "evaluated");
        Succeeds(Lmconv.Run(Lmconv.TinyTraining(output, 2)));
        // 5 images, 4 per batch of 8 image x order pairs: 3 workers get shards of 1, 1 and 2, then of the last image alone.
        (string Order, double Nats)[] Table(string workers)
        {
            var run = Lmconv.Run("evaluate", "--checkpoint", Path.Combine(output, "model.ckpt"), "--images", "5", "--batch-size", "8", "--workers", workers);
            Succeeds(run);
            return run.Out.Split('\n').Select(line => line.Split('|', StringSplitOptions.TrimEntries))
                .Where(cells => cells.Length == 4 && double.TryParse(cells[2], CultureInfo.InvariantCulture, out _))
                .Select(cells => (cells[1], double.Parse(cells[2], CultureInfo.InvariantCulture))).ToArray();
        }

        var one = Table("1");
        one.Select(row => row.Order).Should().Equal("0 (Identity)", "1 (ReflectRows)", "ensemble of 2");
        var three = Table("3");
        three.Select(row => row.Order).Should().Equal(one.Select(row => row.Order));
        // float32: the shards' smaller products may add in another order, so the printed means may differ in the last digit.
        for (int i = 0; i < one.Length; i++) three[i].Nats.Should().BeApproximately(one[i].Nats, 2e-3);
    }

    [Fact]
    public void MoreWorkersThanImagesPerBatchAreRefusedInOneLine()
    {
        var run = Lmconv.Run(Lmconv.TinyTraining(Path.Combine(dir, "many"), 1, "--workers", "5"));
        run.Code.Should().Be(1);
        run.ErrLines.Should().ContainSingle().Which.Should().Contain("--workers 5").And.Contain("batch of 4");
    }

    [Fact]
    public void AKilledAndResumedRunEndsByteIdenticalToAnUninterruptedOne()
    {
        string killed = Path.Combine(dir, "killed"), whole = Path.Combine(dir, "whole");
        string checkpoint = Path.Combine(killed, "model.ckpt");
        var (process, output, error) = Lmconv.Start(Seeded(killed, 10_000, "5"));
        using (process)
        {
            Lmconv.WaitUntil(process, () => File.Exists(checkpoint) && CheckpointMetadata.Read(checkpoint).Step >= 3, TimeSpan.FromMinutes(3))
                .Should().BeTrue($"the run should save checkpoints; stdout:\n{output}\nstderr:\n{error}");
            Lmconv.Signal(process.Id, SIGKILL);
            process.WaitForExit();
        }
        long step = CheckpointMetadata.Read(checkpoint).Step;

        var resumed = Lmconv.Run("train", "--resume", checkpoint, "--steps", (step + 2).ToString(), "--threads", "1", "--train-images", "64",
            "--eval-every", "0", "--final-eval-images", "4", "--samples", "0", "--checkpoint-every", "1", "--output", killed);
        Succeeds(resumed);
        Succeeds(Lmconv.Run(Seeded(whole, (int)step + 2, "5")));

        File.ReadAllBytes(checkpoint).Should().Equal(File.ReadAllBytes(Path.Combine(whole, "model.ckpt")));
        Directory.EnumerateFiles(killed, "*.tmp").Should().BeEmpty("the resumed run's saves remove the killed run's temporary files");
        // The log continues the killed run's rows up to the checkpoint, without the rows written after it.
        var steps = File.ReadAllLines(Path.Combine(killed, "metrics.csv")).Skip(1).Select(l => long.Parse(l.Split(',')[0])).ToArray();
        steps.Should().Equal(Enumerable.Range(1, (int)step + 2).Select(i => (long)i));
    }

    [Fact]
    public void SigtermStopsAfterTheStepAndSavesLikeCtrlC()
    {
        string output = Path.Combine(dir, "term"), checkpoint = Path.Combine(output, "model.ckpt");
        var (process, stdout, stderr) = Lmconv.Start("train", "--steps", "10000", "--filters", "4", "--orders", "2", "--batch-size", "4",
            "--train-images", "64", "--eval-every", "0", "--checkpoint-every", "1000", "--output", output);
        using (process)
        {
            Lmconv.WaitUntil(process, () => { lock (stdout) return stdout.ToString().Contains("model:"); }, TimeSpan.FromMinutes(2)).Should().BeTrue(stderr.ToString());
            Thread.Sleep(500);
            Lmconv.Signal(process.Id, SIGTERM);
            process.WaitForExit(120_000).Should().BeTrue();
            process.WaitForExit();
            process.ExitCode.Should().Be(ExitCodes.Terminated, stderr.ToString());
        }
        stderr.ToString().Should().Contain("SIGTERM");
        var match = System.Text.RegularExpressions.Regex.Match(stdout.ToString(), @"checkpoint \S+ at step (\d+)");
        match.Success.Should().BeTrue(stdout.ToString());
        CheckpointMetadata.Read(checkpoint).Step.Should().Be(long.Parse(match.Groups[1].Value)).And.BeGreaterThan(0);
    }

    [Fact]
    public void SamplingAHugeCountKeepsMemoryFlatAndWritesSheetsAsItGoes()
    {
        string output = Path.Combine(dir, "many");
        int Sheets() => Directory.Exists(output) ? Directory.GetFiles(output, "samples-*.png").Length : 0;
        var (process, stdout, stderr) = Lmconv.Start("sample", "--checkpoint", fixture.Path, "--count", "2000000000", "--batch-size", "64",
            "--threads", "1", "--output", output);
        using (process)
        {
            try
            {
                // Warm-up: the first sheet (256 images) is finished.
                Lmconv.WaitUntil(process, () => Sheets() >= 1, TimeSpan.FromMinutes(3)).Should().BeTrue(stderr.ToString());
                // Resident memory swings by a few tens of MB within a batch (the cached sampler's caches and the GC's
                // heap), so the reference is the peak over the second sheet, and the peak over the next two may not
                // exceed it by more than a leak of a few batches would add.
                long PeakUntil(int sheets)
                {
                    long peak = Lmconv.ResidentBytes(process.Id);
                    Lmconv.WaitUntil(process, () =>
                    {
                        peak = Math.Max(peak, Lmconv.ResidentBytes(process.Id));
                        return Sheets() >= sheets;
                    }, TimeSpan.FromMinutes(3)).Should().BeTrue(stderr.ToString());
                    return peak;
                }
                long warm = PeakUntil(2), peak = PeakUntil(4);
                ((double)peak / warm).Should().BeLessThan(1.1, $"the peak resident memory went from {warm >> 20} MB to {peak >> 20} MB");
            }
            finally
            {
                if (!process.HasExited) process.Kill();
                process.WaitForExit();
            }
        }
        using var bitmap = SKBitmap.Decode(Directory.GetFiles(output, "samples-*.png").Order().First());
        bitmap.Width.Should().Be((1 + 16 * 29) * 3, "a full sheet is a 16 x 16 grid of 28-pixel tiles");
    }

    [Fact]
    public void ATrainingRunWritesMetricsTensorBoardEventsAndALearningCurvePlot()
    {
        string output = Path.Combine(dir, "logs");
        Succeeds(Lmconv.Run(Lmconv.TinyTraining(output, 6, "--eval-every", "3", "--eval-images", "4")));
        var lines = File.ReadAllLines(Path.Combine(output, "metrics.csv"));
        lines[0].Should().Be(TrainingLog.Header);
        lines.Should().HaveCount(7);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        rows.Select(r => r[0]).Should().Equal("1", "2", "3", "4", "5", "6");
        foreach (var row in rows)
        {
            row.Should().HaveCount(TrainingLog.Header.Split(',').Length);
            double.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture).Should().BePositive();   // loss, nats
            double.Parse(row[5], System.Globalization.CultureInfo.InvariantCulture).Should().BeApproximately(2e-3, 1e-4);   // learning rate
            double.Parse(row[9], System.Globalization.CultureInfo.InvariantCulture).Should().BePositive();   // RSS
        }
        rows.Where(r => r[7] != "").Select(r => r[0]).Should().Equal("3", "6");

        var events = Directory.GetFiles(Path.Combine(output, "tensorboard"), "events.out.tfevents.*");
        events.Should().ContainSingle();
        System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(events[0])).Should().Contain("train/loss_nats").And.Contain("test/nats");

        LearningCurves.RegisterFonts().Should().BeTrue("the DejaVu font files ship beside the program");
        using var plot = SKBitmap.Decode(Path.Combine(output, "learning-curves.png"));
        (plot.Width, plot.Height).Should().Be((900, 540));
    }

    [Fact]
    public void SamplingInBatchesWritesOneSheetOfAllImages()
    {
        string output = Path.Combine(dir, "batches");
        Succeeds(Lmconv.Run("sample", "--checkpoint", fixture.Path, "--count", "20", "--batch-size", "8", "--output", output));
        using var sheet = SKBitmap.Decode(Path.Combine(output, "samples.png"));
        // 20 images: 5 columns and 4 rows of 28-pixel tiles with 1-pixel gaps, drawn at scale 3.
        (sheet.Width, sheet.Height).Should().Be(((1 + 5 * 29) * 3, (1 + 4 * 29) * 3));
        ImageBatches.SheetPath(output, "samples", 0, 1).Should().EndWith("samples.png");
        ImageBatches.SheetPath(output, "samples", 11, 7_812_500).Should().EndWith("samples-0000012.png");
    }
}
