using System.Text.Json;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Distributed;
using LocallyMasked.TestSupport;
using LocallyMasked.Training.Evaluation;
using TorchSharp;

namespace LocallyMasked.Training.Tests.Evaluation;

/// <summary>A tiny model's whole evaluation (with a region) and its three parts, computed once for the tests of the results.</summary>
public sealed class EvaluatedParts
{
    public EvaluatedParts()
    {
        torch.manual_seed(31);
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary());
        var data = PixelCnnTrainingTests.Digits(10, 6);
        var region = ImageRegion.TopHalf(6, 6);
        Data = new EvaluatedData
        {
            Dataset = "binarized-mnist", Source = "crops", Split = "test", SplitImages = data.Count, Channels = 1, Height = 6, Width = 6, Bits = 1,
            Sha256 = new string('b', 64),
        };
        Whole = Result(model, data, region, ImageRange.All(Images), null);
        int perBatch = LikelihoodEvaluation.ImagesPerBatch(BatchSize, Orders.Length);
        Parts = Enumerable.Range(0, 3).Select(p =>
        {
            var range = new Shard(p, 3).RangeOf(Images, perBatch);
            return Result(model, data, region, range, new ResultShard { Index = p, Count = 3, First = range.Start, Total = Images });
        }).ToArray();
    }

    public const int Images = 9, BatchSize = 4;

    public static GenerationOrder[] Orders { get; } = GenerationOrders.SCurve(6, 6).Variants().Take(2).ToArray();

    public static EvaluatedModel Model { get; } = new()
    {
        Kind = "lmconv", Files = ["out/model.ckpt"], Sha256 = [new string('a', 64)], Weights = "trained", Step = 3, Description = "6 filters", Loading = "",
    };

    public EvaluatedData Data { get; }

    public EvaluationResult Whole { get; }

    public EvaluationResult[] Parts { get; }

    private EvaluationResult Result(LocallyMaskedPixelCnn model, LocallyMasked.Training.Data.ImageDataset data, ImageRegion region, ImageRange range, ResultShard? shard) =>
        EvaluationResult.Create(
            LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, Orders, range, BatchSize),
            Orders, ["0 (Identity)", "1 (ReflectRows)"], Model, Data, seed: 7, BatchSize,
            LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, region, Orders, range, BatchSize), "top",
            shard, program: "tests");
}

/// <summary>
/// The evaluation result programs read (<see cref="EvaluationResult"/>): its figures are the report's, it reads back
/// from its JSON unchanged, it follows the documented schema, and parts of a sharded evaluation merge into the whole.
/// </summary>
public sealed class EvaluationResultTests(EvaluatedParts fixture) : IClassFixture<EvaluatedParts>
{
    [Fact]
    public void Its_figures_are_the_reports_in_nats_and_bits_per_dimension()
    {
        var report = fixture.Whole.ToReport();
        fixture.Whole.Images.Should().Be(EvaluatedParts.Images);
        for (int o = 0; o < 2; o++)
        {
            fixture.Whole.Orders[o].Nats.Should().Be(report.PerOrder[o]);
            fixture.Whole.Orders[o].Bpd.Should().BeApproximately(report.PerOrder[o] / (36 * Math.Log(2)), 1e-12);
            fixture.Whole.Orders[o].Sha256.Should().Be(EvaluationResult.SequenceSha256(EvaluatedParts.Orders[o]));
        }
        fixture.Whole.Ensemble.Nats.Should().Be(report.Ensemble);
        fixture.Whole.Region!.Bpd.Should().BeApproximately(fixture.Whole.Region.Nats / (18 * Math.Log(2)), 1e-12);
        fixture.Whole.PerImage.Select(i => i.Region!.Value).Average().Should().BeApproximately(fixture.Whole.Region.Nats, 1e-9);
        EvaluationResult.SequenceSha256(EvaluatedParts.Orders[0]).Should().NotBe(EvaluationResult.SequenceSha256(EvaluatedParts.Orders[1]));
    }

    [Fact]
    public void The_json_reads_back_as_the_same_result_bit_for_bit()
    {
        string json = fixture.Whole.ToJson();
        var back = EvaluationResult.FromJson(json);
        back.ToJson().Should().Be(json);
        back.Orders.Select(o => o.Nats).Should().Equal(fixture.Whole.Orders.Select(o => o.Nats));
        back.PerImage.SelectMany(i => i.Nats).Should().Equal(fixture.Whole.PerImage.SelectMany(i => i.Nats));
        back.PerImage.Select(i => i.Region).Should().Equal(fixture.Whole.PerImage.Select(i => i.Region));
        back.Model.SameModelAs(fixture.Whole.Model).Should().BeTrue();
        back.Data.Should().Be(fixture.Whole.Data);
        back.Seed.Should().Be(7UL);
    }

    [Fact]
    public void The_json_follows_the_documented_schema_and_the_docs_example_too()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.Find("docs/evaluation-result.schema.json")));
        foreach (var result in fixture.Parts.Append(fixture.Whole).Append(fixture.Whole with { Region = null, PerImage = fixture.Whole.PerImage.Select(i => i with { Region = null, File = "a.png" }).ToArray() }))
        {
            using var document = JsonDocument.Parse(result.ToJson());
            JsonSchemaSubset.Problems(schema.RootElement, document.RootElement).Should().BeEmpty();
        }

        // The page's example is a real file: it follows the schema and reads back.
        string page = File.ReadAllText(RepositoryFiles.Find("docs/evaluation-results.md"));
        int start = page.IndexOf("```json\n", StringComparison.Ordinal) + "```json\n".Length;
        string example = page[start..page.IndexOf("```", start, StringComparison.Ordinal)];
        using var parsed = JsonDocument.Parse(example);
        JsonSchemaSubset.Problems(schema.RootElement, parsed.RootElement).Should().BeEmpty();
        EvaluationResult.FromJson(example).Images.Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_document_that_breaks_the_schema_fails_the_check()
    {
        // The checker itself can fail: a missing member, a member too many, a wrong type.
        using var schema = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.Find("docs/evaluation-result.schema.json")));
        string json = fixture.Whole.ToJson();
        foreach (var broken in new[]
                 {
                     json.Replace("\"batchSize\"", "\"batchsize\"", StringComparison.Ordinal),
                     json.Replace("\"seed\": 7", "\"seed\": \"7\"", StringComparison.Ordinal),
                     json.Replace("\"regionLast\": true", "\"regionLast\": 1", StringComparison.Ordinal),
                 })
        {
            using var document = JsonDocument.Parse(broken);
            JsonSchemaSubset.Problems(schema.RootElement, document.RootElement).Should().NotBeEmpty();
        }
    }

    [Fact]
    public void Parts_in_any_order_merge_into_the_whole_evaluation_bit_for_bit()
    {
        var parts = fixture.Parts;
        fixture.Parts.Sum(p => p.Images).Should().Be(EvaluatedParts.Images);
        foreach (var order in new[] { new[] { 0, 1, 2 }, new[] { 2, 0, 1 }, new[] { 1, 2, 0 } })
        {
            var merged = EvaluationResult.Merge(order.Select(i => parts[i]).ToArray());
            merged.ToJson().Should().Be(fixture.Whole.ToJson());
        }
        // A part read back from its file merges the same.
        EvaluationResult.Merge(parts.Select(p => EvaluationResult.FromJson(p.ToJson())).ToArray()).ToJson().Should().Be(fixture.Whole.ToJson());
    }

    [Fact]
    public void Parts_that_do_not_belong_together_are_refused_naming_them()
    {
        var p = fixture.Parts;
        string[] names = ["part-0.json", "part-1.json", "part-2.json"];
        void Refused(EvaluationResult[] parts, string why, string[]? partNames = null) =>
            FluentActions.Invoking(() => EvaluationResult.Merge(parts, partNames ?? names)).Should().Throw<ArgumentException>().WithMessage($"*{why}*");

        Refused([p[0], p[1] with { Model = p[1].Model with { Sha256 = [new string('c', 64)] } }, p[2]], "part-1.json and part-0.json are of different models");
        Refused([p[0], p[1], p[2] with { Data = p[2].Data with { Sha256 = new string('d', 64) } }], "part-2.json and part-0.json are of different data");
        Refused([p[0], p[1] with { Seed = 8 }, p[2]], "different seeds (8 and 7)");
        Refused([p[0], p[1] with { BatchSize = 8 }, p[2]], "different batch sizes");
        Refused([p[0], p[1] with { Orders = p[1].Orders.Reverse().ToArray() }, p[2]], "different orders");
        Refused([p[0], p[1] with { Region = p[1].Region! with { Name = "centre" } }, p[2]], "different regions");
        Refused([p[0], p[2]], "shard 1/3 is missing", ["part-0.json", "part-2.json"]);
        Refused([p[0], p[1], p[1]], "part-2.json and part-1.json are both shard 1/3");
        Refused([p[0], p[1] with { Shard = p[1].Shard! with { First = p[1].Shard!.First - 1 } }, p[2]], "where image");
        Refused([p[0], p[1], p[2] with { Shard = p[2].Shard! with { Count = 4 } }], "shards of 4 and of 3 parts");
        FluentActions.Invoking(() => EvaluationResult.Merge([])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Reading_refuses_a_newer_schema_and_figures_that_do_not_hold_together()
    {
        string json = fixture.Whole.ToJson();
        void Refused(string text, string why) =>
            FluentActions.Invoking(() => EvaluationResult.FromJson(text)).Should().Throw<InvalidDataException>().WithMessage($"*{why}*");

        Refused(json.Replace("\"schemaVersion\": 1", "\"schemaVersion\": 2", StringComparison.Ordinal), "newer than this program reads");
        Refused("{\"orders\": []}", "no schemaVersion");
        Refused("[1, 2]", "no schemaVersion");
        Refused("not json", "not an evaluation result");
        Refused(json.Replace("\"images\": 9", "\"images\": 8", StringComparison.Ordinal), "perImage");
        var oneOrderShort = fixture.Whole with { PerImage = fixture.Whole.PerImage.Select((image, i) => i == 3 ? image with { Nats = [image.Nats[0]] } : image).ToArray() };
        Refused(oneOrderShort.ToJson(), "perImage[3]");
        Refused(json.Replace("\"model\"", "\"modelx\"", StringComparison.Ordinal), "not an evaluation result");
    }
}
