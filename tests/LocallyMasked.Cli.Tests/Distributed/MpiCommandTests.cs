using System.Text.RegularExpressions;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Tests.Distributed;

/// <summary>
/// <c>mpiexec -n 2 lmconv evaluate|score|sample|complete</c> (issue 25): the ranks split the images, rank 0 alone prints
/// and writes, and what it writes is byte for byte what one process writes with the same settings.
/// </summary>
public sealed class MpiCommandTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-mpi-").FullName;
    private readonly TinyCheckpoint fixture;

    public MpiCommandTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string File(string name) => Path.Combine(dir, name);

    /// <summary>One thread and one worker per process: the same arithmetic in every rank as in the one process.</summary>
    private static readonly string[] Same = ["--threads", "1", "--workers", "1"];

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    [Fact]
    public void Two_ranks_evaluate_what_one_process_evaluates_and_rank_0_alone_prints_and_writes()
    {
        string[] Args(string name) =>
            new[] { "evaluate", "--checkpoint", fixture.Path, "--images", "11", "--batch-size", "4", "--region", "centre", "--json", File($"{name}.json"),
                "--per-image", File($"{name}.csv") }.Concat(Same).ToArray();
        var one = Lmconv.Run(Args("one"));
        one.Code.Should().Be(0, one.Err);
        var two = MpiLmconv.Run(2, Args("two"));
        two.Code.Should().Be(0, two.ToString());

        System.IO.File.ReadAllText(File("two.json")).Should().Be(System.IO.File.ReadAllText(File("one.json")));
        System.IO.File.ReadAllText(File("two.csv")).Should().Be(System.IO.File.ReadAllText(File("one.csv")));
        Count(two.Out, "test NLL on 11 images").Should().Be(1, "rank 1 prints nothing");
        Count(two.Out, "model: ").Should().Be(1);
        two.Out.Should().Contain("2 MPI ranks: rank 0 images 0-5, rank 1 images 6-10 of 11");
        two.Err.Should().BeEmpty();
        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(["one.json", "one.csv", "two.json", "two.csv"], "no rank leaves a file of its own");
    }

    [Fact]
    public void Two_ranks_score_what_one_process_scores()
    {
        string images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        for (int i = 0; i < 5; i++) ImageFiles.GreyPng(Path.Combine(images, $"{i}.png"), 28, 28, (x, y) => (byte)((x * (i + 3) + y * 7) % 256));
        string[] Args(string name) =>
            new[] { "score", "--checkpoint", fixture.Path, "--data", images, "--batch-size", "2", "--json", File($"{name}.json") }.Concat(Same).ToArray();
        Lmconv.Run(Args("one")).Code.Should().Be(0);
        var two = MpiLmconv.Run(2, Args("two"));
        two.Code.Should().Be(0, two.ToString());
        System.IO.File.ReadAllText(File("two.json")).Should().Be(System.IO.File.ReadAllText(File("one.json")));
        EvaluationResult.FromJson(System.IO.File.ReadAllText(File("two.json"))).Images.Should().Be(5);
    }

    [Fact]
    public void Two_ranks_draw_and_complete_what_one_process_does_and_rank_0_writes_the_sheets()
    {
        string[] Sample(string output) =>
            new[] { "sample", "--checkpoint", fixture.Path, "--count", "7", "--batch-size", "2", "--seed", "3", "--output", output, "--threads", "1" };
        string[] Complete(string output) =>
            new[] { "complete", "--checkpoint", fixture.Path, "--count", "5", "--batch-size", "2", "--seed", "3", "--region", "top", "--output", output, "--threads", "1" };
        string one = File("one"), two = File("two");
        Lmconv.Run(Sample(one)).Code.Should().Be(0);
        Lmconv.Run(Complete(one)).Code.Should().Be(0);
        var sampled = MpiLmconv.Run(2, Sample(two));
        sampled.Code.Should().Be(0, sampled.ToString());
        var completed = MpiLmconv.Run(2, Complete(two));
        completed.Code.Should().Be(0, completed.ToString());

        Directory.GetFiles(two).Select(Path.GetFileName).Should().BeEquivalentTo(Directory.GetFiles(one).Select(Path.GetFileName));
        // Rank 0 writes the sheets and the manifest (issue 26) of the whole run, byte for byte one process's.
        foreach (var name in new[] { "samples.png", "completions-top.png", "samples.json", "completions-top.json" })
            System.IO.File.ReadAllBytes(Path.Combine(two, name)).Should().Equal(System.IO.File.ReadAllBytes(Path.Combine(one, name)), name);
        Count(sampled.Out, "samples: 7 images").Should().Be(1, "rank 1 prints nothing");
        Count(completed.Out, "completions: 5 images").Should().Be(1);

        // A second run into the same folder is refused by rank 0 in one line (beside MPICH's line on the abort), before
        // any work, and every rank stops.
        var again = MpiLmconv.Run(2, Sample(two));
        again.Code.Should().Be(ExitCodes.BadInput, again.ToString());
        again.ErrLines.Where(l => l.StartsWith("lmconv: ", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Should().Contain("rank 0 of 2").And.Contain("samples.png").And.Contain("--force");
        var forced = MpiLmconv.Run(2, Sample(two).Append("--force").ToArray());
        forced.Code.Should().Be(0, forced.ToString());
        System.IO.File.ReadAllBytes(Path.Combine(two, "samples.json")).Should().Equal(System.IO.File.ReadAllBytes(Path.Combine(one, "samples.json")));
    }

    [Fact]
    public void Two_ranks_complete_a_mask_on_test_images_and_own_pictures_as_one_process_does()
    {
        // A mask on test images splits over the ranks; --image is completed by rank 0 alone, which says so.
        string mask = ImageFiles.GreyPng(File("hole.png"), 28, 28, (x, y) => (x - 14) * (x - 14) + (y - 12) * (y - 12) < 30 ? (byte)255 : (byte)0);
        string picture = ImageFiles.GreyPng(File("mine.png"), 28, 28, (x, y) => (byte)(x * 9 + y));
        string[] Tests(string output) =>
            new[] { "complete", "--checkpoint", fixture.Path, "--count", "3", "--batch-size", "2", "--mask", mask, "--output", output, "--threads", "1" };
        string[] Pictures(string output) =>
            new[] { "complete", "--checkpoint", fixture.Path, "--image", picture, "--mask", mask, "--count", "3", "--batch-size", "2", "--output", output, "--threads", "1" };
        string one = File("one"), two = File("two"), ownOne = File("own-one"), ownTwo = File("own-two");
        Lmconv.Run(Tests(one)).Code.Should().Be(0);
        Lmconv.Run(Pictures(ownOne)).Code.Should().Be(0);
        var tests = MpiLmconv.Run(2, Tests(two));
        tests.Code.Should().Be(0, tests.ToString());
        var pictures = MpiLmconv.Run(2, Pictures(ownTwo));
        pictures.Code.Should().Be(0, pictures.ToString());
        pictures.Out.Should().Contain("rank 0 completes the pictures alone");
        Count(pictures.Out, "completions: 3 of 3").Should().Be(1, "rank 1 prints nothing");

        foreach (var (a, b) in new[] { (one, two), (ownOne, ownTwo) })
        {
            var names = Directory.GetFiles(a).Select(Path.GetFileName).ToArray();
            Directory.GetFiles(b).Select(Path.GetFileName).Should().BeEquivalentTo(names);
            names.Should().Contain("completions-hole.json");
            foreach (var name in names)
                System.IO.File.ReadAllBytes(Path.Combine(b, name!)).Should().Equal(System.IO.File.ReadAllBytes(Path.Combine(a, name!)), name);
        }
    }

    [Fact]
    public void Ranks_started_with_different_settings_stop_with_one_line_from_rank_0()
    {
        string[] Args(string images) => new[] { "evaluate", "--checkpoint", fixture.Path, "--images", images, "--json", File($"{images}.json") };
        var run = MpiLmconv.RunEach(Args("4"), Args("5"));
        run.Code.Should().Be(ExitCodes.BadInput, run.ToString());
        run.ErrLines.Should().Equal("lmconv: rank 1 was started with other settings than rank 0: start every rank with the same command line");
        run.Out.Should().BeEmpty();
        Directory.GetFiles(dir).Should().BeEmpty();
    }

    [Fact]
    public void A_shard_under_mpiexec_is_refused_in_one_line()
    {
        var run = MpiLmconv.Run(2, "evaluate", "--checkpoint", fixture.Path, "--shard", "0/2", "--json", File("x.json"));
        run.Code.Should().NotBe(0);
        run.ErrLines.Where(l => l.StartsWith("lmconv: ", StringComparison.Ordinal)).Should().NotBeEmpty()
            .And.OnlyContain(l => l.Contains("--shard: this process was started by an MPI launcher"));
        System.IO.File.Exists(File("x.json")).Should().BeFalse();
    }
}
