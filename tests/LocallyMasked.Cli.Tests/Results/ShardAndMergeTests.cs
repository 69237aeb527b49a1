using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Tests.Results;

/// <summary>
/// <c>evaluate --shard I/N</c> and <c>merge</c> (issue 25): parts in any order merge into the whole evaluation's file,
/// byte for byte; parts that do not belong together, a missing or repeated part, and a part past the count are one line.
/// </summary>
public sealed class ShardAndMergeTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-shards-").FullName;
    private readonly TinyCheckpoint fixture;

    public ShardAndMergeTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Path(string name) => System.IO.Path.Combine(dir, name);

    /// <summary>
    /// 10 images, 2 per batch of 4 pairs under 2 orders: 5 batches starting at images 0, 2, 4, 6 and 8; part i of 3 takes
    /// those that start in [10 i / 3, 10 (i + 1) / 3), so 2, 1 and 2 batches.
    /// </summary>
    private Lmconv.Result Evaluate(string checkpoint, params string[] more) =>
        Lmconv.Run(new[] { "evaluate", "--checkpoint", checkpoint, "--images", "10", "--batch-size", "4", "--threads", "1", "--workers", "1" }
            .Concat(more.Contains("--region") ? more : more.Concat(new[] { "--region", "top" })).ToArray());

    private string Part(int index, int count, string? checkpoint = null, params string[] more)
    {
        string file = Path($"part-{index}-of-{count}{(checkpoint is null ? "" : "-other")}.json");
        var run = Evaluate(checkpoint ?? fixture.Path, new[] { "--shard", $"{index}/{count}", "--json", file }.Concat(more).ToArray());
        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain($"shard {index}/{count}: images ");
        return file;
    }

    [Fact]
    public void Parts_in_any_order_merge_into_the_whole_evaluations_file_byte_for_byte()
    {
        var whole = Evaluate(fixture.Path, "--json", Path("whole.json"), "--per-image", Path("whole.csv"));
        whole.Code.Should().Be(0, whole.Err);
        string[] parts = [Part(0, 3), Part(1, 3), Part(2, 3)];
        var sizes = parts.Select(p => EvaluationResult.FromJson(File.ReadAllText(p))).Select(r => (r.Shard!.First, r.Images)).ToArray();
        sizes.Should().Equal((0, 4), (4, 2), (6, 4));

        var merge = Lmconv.Run("merge", parts[2], parts[0], parts[1], "--json", Path("all.json"), "--per-image", Path("all.csv"));
        merge.Code.Should().Be(0, merge.Err);
        File.ReadAllText(Path("all.json")).Should().Be(File.ReadAllText(Path("whole.json")));
        File.ReadAllText(Path("all.csv")).Should().Be(File.ReadAllText(Path("whole.csv")));
        // merge prints the whole evaluation's table, as evaluate does.
        ResultRuns.TableRows(merge.Out).Should().Equal(ResultRuns.TableRows(whole.Out));
        merge.Out.Should().Contain("merged 3 parts: 10 images");
    }

    [Fact]
    public void Parts_computed_in_other_precisions_do_not_merge_and_a_bf16_result_says_its_precision()
    {
        string p0 = Part(0, 2), p1 = Part(1, 2, null, "--precision", "bf16-mixed");
        EvaluationResult.FromJson(File.ReadAllText(p1)).Model.Loading.Should().Be("--precision bf16-mixed");
        EvaluationResult.FromJson(File.ReadAllText(p0)).Model.Loading.Should().BeEmpty("float32 figures are the file's own");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, p1), ExitCodes.BadInput, "different models", "--precision bf16-mixed");
    }

    [Fact]
    public void Parts_that_do_not_make_one_evaluation_are_one_line_each()
    {
        string p0 = Part(0, 2), p1 = Part(1, 2);
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p1), ExitCodes.BadInput, "shard 0/2 is missing");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, p1, p0), ExitCodes.BadInput, p0, "given 2 times");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, Part(1, 2, more: ["--seed", "9"])), ExitCodes.BadInput, "different seeds");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, Part(1, 3)), ExitCodes.BadInput, "shards of 3 and of 2 parts");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, Part(1, 2, more: ["--region", "centre"])), ExitCodes.BadInput, "different regions");

        // Another model: trained with another seed.
        string other = Path("other");
        Lmconv.Run(Lmconv.TinyTraining(other, 2, "--seed", "5")).Code.Should().Be(0);
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, Part(1, 2, System.IO.Path.Combine(other, "model.ckpt"))), ExitCodes.BadInput, "different models");

        File.WriteAllText(Path("notes.json"), "{\"hello\": 1}");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, Path("notes.json")), ExitCodes.BadInput, "notes.json", "not an evaluation result");
        ResultRuns.FailsInOneLine(Lmconv.Run("merge", p0, Path("missing.json")), ExitCodes.BadInput, "missing.json", "not found");
    }

    [Theory]
    [InlineData("2/2", "numbered 0 to 1")]
    [InlineData("0/0", "at least 1")]
    [InlineData("one/2", "expected I/N")]
    [InlineData("auto/0", "auto/N")]
    public void A_shard_that_cannot_be_is_a_usage_error(string shard, string why) =>
        ResultRuns.FailsInOneLine(Evaluate(fixture.Path, "--shard", shard, "--json", Path("x.json")), ExitCodes.Usage, $"--shard {shard}", why);

    [Fact]
    public void A_shard_without_a_json_file_or_without_images_is_one_line()
    {
        ResultRuns.FailsInOneLine(Evaluate(fixture.Path, "--shard", "0/2"), ExitCodes.BadInput, "--shard", "--json");
        ResultRuns.FailsInOneLine(Evaluate(fixture.Path, "--shard", "0/2", "--json", "-"), ExitCodes.BadInput, "--shard", "--json");
        // 10 images in 5 batches starting at 0, 2, 4, 6, 8: part 3 of 6 takes those starting in [5, 6), none.
        ResultRuns.FailsInOneLine(Evaluate(fixture.Path, "--shard", "3/6", "--json", Path("x.json")), ExitCodes.BadInput, "--shard 3/6", "no images");
        File.Exists(Path("x.json")).Should().BeFalse();
    }
}
