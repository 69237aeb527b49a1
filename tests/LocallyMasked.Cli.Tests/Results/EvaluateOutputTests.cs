using System.Globalization;
using System.Text.Json;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Tests.Results;

/// <summary>
/// <c>evaluate --json</c> and <c>--per-image</c> (issue 26): the JSON holds the table's figures and reads back, the rows
/// average to the figures, <c>--json -</c> leaves standard output to the JSON alone, and a path that cannot be written
/// is one line.
/// </summary>
public sealed class EvaluateOutputTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-results-").FullName;
    private readonly TinyCheckpoint fixture;

    public EvaluateOutputTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string[] Evaluate(params string[] more) =>
        new[] { "evaluate", "--checkpoint", fixture.Path, "--images", "7", "--batch-size", "4", "--region", "centre" }.Concat(more).ToArray();

    [Fact]
    public void The_json_holds_the_tables_figures_and_reads_back_unchanged()
    {
        string json = Path.Combine(dir, "results.json");
        var run = Lmconv.Run(Evaluate("--json", json));
        run.Code.Should().Be(0, run.Err);
        string text = File.ReadAllText(json);
        var result = EvaluationResult.FromJson(text);
        result.ToJson().Should().Be(text);

        var rows = ResultRuns.TableRows(run.Out);
        rows.Select(r => r.Name).Should().Equal(result.Orders.Select(o => o.Name).Append("ensemble of 2"));
        rows.Select(r => r.Nats).Should().Equal(result.Orders.Select(o => o.Nats).Append(result.Ensemble.Nats).Select(n => n.ToString("F3", CultureInfo.InvariantCulture)));
        run.Out.Should().Contain($"given the rest, ensemble of 2: {result.Region!.Nats.ToString("F3", CultureInfo.InvariantCulture)} nats per image");
        (result.Images, result.BatchSize, result.Seed, result.Shard).Should().Be((7, 4, 1UL, (ResultShard?)null));
        result.Model.Files.Should().Equal(fixture.Path);
        result.Model.Sha256.Should().Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(fixture.Path))).ToLowerInvariant());
        (result.Data.Dataset, result.Data.Split, result.Data.Dimensions, result.Data.Bits).Should().Be(("binarized-mnist", "test", 784, 1));
        result.PerImage.Select(i => i.Index).Should().Equal(Enumerable.Range(0, 7));
        run.Out.Should().Contain($"results: {json}");
    }

    [Fact]
    public void The_per_image_rows_average_to_the_reported_means()
    {
        string json = Path.Combine(dir, "r.json"), csv = Path.Combine(dir, "r.csv");
        var run = Lmconv.Run(Evaluate("--json", json, "--per-image", csv));
        run.Code.Should().Be(0, run.Err);
        var result = EvaluationResult.FromJson(File.ReadAllText(json));
        var (header, rows) = ResultRuns.Csv(File.ReadAllText(csv));
        header.Should().Equal("index", "file", "ensemble_nats", "ensemble_bpd", "order_0_nats", "order_0_bpd", "order_1_nats", "order_1_bpd", "region_nats", "region_bpd");
        rows.Select(r => r[0]).Should().Equal(Enumerable.Range(0, 7).Select(i => i.ToString(CultureInfo.InvariantCulture)));

        void Averages(string column, double nats, double bpd)
        {
            int c = Array.IndexOf(header, column + "_nats");
            double sum = 0, bits = 0;
            foreach (var row in rows)
            {
                sum += ResultRuns.Number(row[c]);
                bits += ResultRuns.Number(row[c + 1]);
            }
            (sum / rows.Length).Should().Be(nats, $"{column}: the rows added in order, over their count, are the figure exactly");
            (bits / rows.Length).Should().BeApproximately(bpd, 1e-12, column);
        }

        Averages("ensemble", result.Ensemble.Nats, result.Ensemble.Bpd);
        Averages("order_0", result.Orders[0].Nats, result.Orders[0].Bpd);
        Averages("order_1", result.Orders[1].Nats, result.Orders[1].Bpd);
        Averages("region", result.Region!.Nats, result.Region.Bpd);
        // And they are the JSON's per-image figures.
        rows.Select(r => ResultRuns.Number(r[2])).Should().Equal(result.PerImage.Select(i => i.Ensemble));
    }

    [Theory]
    [InlineData("--json")]
    [InlineData("--per-image")]
    public void A_result_on_standard_output_is_all_that_goes_there(string option)
    {
        var run = Lmconv.Run(Evaluate(option, "-"));
        run.Code.Should().Be(0, run.Err);
        if (option == "--json")
        {
            using var document = JsonDocument.Parse(run.Out);   // the whole of standard output is one JSON document
            EvaluationResult.FromJson(run.Out).Images.Should().Be(7);
        }
        else
        {
            var (header, rows) = ResultRuns.Csv(run.Out);
            header[0].Should().Be("index");
            rows.Should().HaveCount(7).And.OnlyContain(r => r.Length == header.Length);
        }
        run.Err.Should().Contain("test NLL on 7 images").And.Contain("model: ").And.Contain("region centre");
    }

    [Fact]
    public void A_path_that_cannot_be_written_is_one_line_before_any_work()
    {
        string file = Path.Combine(dir, "a-file");
        File.WriteAllText(file, "x");
        ResultRuns.FailsInOneLine(Lmconv.Run(Evaluate("--json", Path.Combine(file, "r.json"))), ExitCodes.BadInput, "--json");
        ResultRuns.FailsInOneLine(Lmconv.Run(Evaluate("--per-image", dir)), ExitCodes.BadInput, "--per-image", "is a folder");
        ResultRuns.FailsInOneLine(Lmconv.Run(Evaluate("--json", "-", "--per-image", "-")), ExitCodes.BadInput, "--json -", "--per-image -");
    }
}
