using LocallyMasked.Cli.Data;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Tests.Results;

/// <summary>
/// <c>lmconv score</c> (issue 26): every image file's figures, equal to what <c>evaluate</c> computes for the same images,
/// sorted on request; images of another size or channels are converted and said so in one line.
/// </summary>
public sealed class ScoreTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-score-").FullName;
    private readonly TinyCheckpoint fixture;

    public ScoreTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The first <paramref name="count"/> embedded test digits as grey PNG files digit-0.png, digit-1.png, ... in a folder.</summary>
    private string Digits(int count)
    {
        string folder = Path.Combine(dir, "digits");
        Directory.CreateDirectory(folder);
        var test = EmbeddedDigits.Read(train: false);
        for (int i = 0; i < count; i++)
        {
            var bytes = test.Image(i).ToArray();
            ImageFiles.GreyPng(Path.Combine(folder, $"digit-{i}.png"), 28, 28, (x, y) => bytes[y * 28 + x]);
        }
        return folder;
    }

    private Lmconv.Result Score(params string[] more) =>
        Lmconv.Run(new[] { "score", "--checkpoint", fixture.Path, "--batch-size", "4", "--threads", "1", "--workers", "1" }.Concat(more).ToArray());

    [Fact]
    public void The_scores_of_image_files_are_evaluates_figures_for_the_same_images()
    {
        string folder = Digits(5);
        var score = Score("--data", folder, "--json", Path.Combine(dir, "score.json"), "--csv", Path.Combine(dir, "score.csv"));
        score.Code.Should().Be(0, score.Err);
        var evaluate = Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--images", "5", "--batch-size", "4", "--threads", "1", "--workers", "1",
            "--json", Path.Combine(dir, "evaluate.json"));
        evaluate.Code.Should().Be(0, evaluate.Err);

        var scored = EvaluationResult.FromJson(File.ReadAllText(Path.Combine(dir, "score.json")));
        var evaluated = EvaluationResult.FromJson(File.ReadAllText(Path.Combine(dir, "evaluate.json")));
        // PNG files of the test digits, in name order, are the first test images: the same bytes, the same binarization.
        scored.PerImage.Select(i => i.Nats).Should().BeEquivalentTo(evaluated.PerImage.Select(i => i.Nats), o => o.WithStrictOrdering());
        scored.PerImage.Select(i => i.Ensemble).Should().Equal(evaluated.PerImage.Select(i => i.Ensemble));
        scored.Data.Sha256.Should().Be(evaluated.Data.Sha256);
        scored.PerImage.Select(i => Path.GetFileName(i.File)).Should().Equal(Enumerable.Range(0, 5).Select(i => $"digit-{i}.png"));
        (scored.Data.Split, scored.Images).Should().Be(("files", 5));
        score.Out.Split('\n').Should().NotContain(l => l.StartsWith("images: ", StringComparison.Ordinal), "no image needed resizing or converting");

        var (header, rows) = ResultRuns.Csv(File.ReadAllText(Path.Combine(dir, "score.csv")));
        header.Take(4).Should().Equal("index", "file", "ensemble_nats", "ensemble_bpd");
        rows.Select(r => ResultRuns.Number(r[2])).Should().Equal(scored.PerImage.Select(i => i.Ensemble));
    }

    [Theory]
    [InlineData("ascending")]
    [InlineData("descending")]
    public void Sorting_lists_the_images_by_their_bits_per_dimension(string sort)
    {
        var run = Score("--data", Digits(6), "--sort", sort, "--csv", "-");
        run.Code.Should().Be(0, run.Err);
        var (header, rows) = ResultRuns.Csv(run.Out);
        var bpd = rows.Select(r => ResultRuns.Number(r[Array.IndexOf(header, "ensemble_bpd")])).ToArray();
        (sort == "ascending" ? bpd.Should().BeInAscendingOrder() : bpd.Should().BeInDescendingOrder()).And.HaveCount(6);
        rows.Select(r => r[0]).Should().BeEquivalentTo(Enumerable.Range(0, 6).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        run.Err.Should().Contain("6 images under the ensemble of 2 orders", "the table goes to standard error when the CSV takes standard output");
    }

    [Fact]
    public void Images_of_another_size_or_channels_are_converted_and_said_so_in_one_line()
    {
        string folder = Path.Combine(dir, "mixed");
        Directory.CreateDirectory(folder);
        ImageFiles.Png(Path.Combine(folder, "a-colour-wide.png"), 40, 30, (x, y) => ((byte)(x * 6), (byte)(y * 8), 90));
        ImageFiles.GreyPng(Path.Combine(folder, "b-grey.png"), 28, 28, (x, y) => (byte)(x * 9));
        File.WriteAllText(Path.Combine(folder, "c-broken.png"), "not a picture");
        var run = Score("--data", folder);
        run.Code.Should().Be(0, run.Err);
        var lines = run.Out.Split('\n').Where(l => l.StartsWith("images: ", StringComparison.Ordinal)).ToArray();
        lines.Should().ContainSingle().Which.Should()
            .Contain("1 of 2 images is not 28x28 (HxW): cropped centrally").And.Contain("1 colour image converted to grey (BT.601 luma)");
        run.Err.Should().Contain("skipped 1 file").And.Contain("c-broken.png");
        run.Out.Should().Contain("2 images under the ensemble");
    }

    [Fact]
    public void A_named_file_that_is_no_image_or_a_missing_path_is_one_line()
    {
        string broken = Path.Combine(dir, "broken.png");
        File.WriteAllText(broken, "not a picture");
        ResultRuns.FailsInOneLine(Score("--data", broken), ExitCodes.BadInput, "--data", "broken.png");
        ResultRuns.FailsInOneLine(Score("--data", Path.Combine(dir, "nowhere")), ExitCodes.BadInput, "--data", "no such file or folder");
        ResultRuns.FailsInOneLine(Score("--data", Digits(1), "--csv", "-", "--json", "-"), ExitCodes.BadInput, "--csv -", "--json -");
        ResultRuns.FailsInOneLine(Score("--data", Digits(1), "--sort", "up"), ExitCodes.Usage, "--sort");
    }
}
