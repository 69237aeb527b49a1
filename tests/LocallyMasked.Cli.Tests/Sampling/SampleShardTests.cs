using LocallyMasked.Cli.Commands;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Sampling;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Pictures;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Tests.Sampling;

/// <summary>
/// <c>sample --shard I/N</c> (issue 25): part I writes the images [start, end) of the whole run, bit for bit (binary
/// samples are -1 or +1, so equal PNG files are equal images).
/// </summary>
public sealed class SampleShardTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-sample-shards-").FullName;
    private readonly TinyCheckpoint fixture;

    public SampleShardTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Each_part_writes_the_whole_runs_images_of_its_range()
    {
        // 10 images in batches of at most 3 (and never across a sheet): batches start at 0, 3, 6 and 9.
        string threads = get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] Args(string output, params string[] more) =>
            new[] { "sample", "--checkpoint", fixture.Path, "--count", "10", "--batch-size", "3", "--seed", "5", "--threads", threads, "--output", output }
                .Concat(more).ToArray();
        string whole = Path.Combine(dir, "whole"), parts = Path.Combine(dir, "parts");
        Lmconv.Run(Args(whole)).Code.Should().Be(0);
        var plan = ShardedBatches.Plan(10, 3, ImageBatches.SamplesPerSheet);
        plan.Select(b => (b.First, b.Count)).Should().Equal((0, 3), (3, 3), (6, 3), (9, 1));
        var ranges = new[] { 0, 1 }.Select(i => new Shard(i, 2).RangeOf(plan.Select(b => b.Count).ToArray())).ToArray();
        ranges.Should().Equal(new ImageRange(0, 6), new ImageRange(6, 4));
        for (int i = 0; i < 2; i++)
        {
            var run = Lmconv.Run(Args(parts, "--shard", $"{i}/2"));
            run.Code.Should().Be(0, run.Err);
            run.Out.Should().Contain($"shard {i}/2: {ranges[i]} of 10");
        }

        // The whole run's images, drawn here as one process draws them: batch b with the seed (5, b).
        var settings = CliApp.Settings<SampleSettings>(Args(whole));
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Dataset, settings.Orders, Terminal.Muted);
        using var model = loaded.Model;
        var sampler = settings.Sampler.Create(model, Terminal.Muted);
        using var scope = NewDisposeScope();
        var images = cat(plan.Select(b => sampler.Sample(loaded.Orders[0], b.Count,
            new SamplingOptions { Seed = ImageBatches.SeedOf(5, b.Index), Temperature = 1 }).cpu()).ToArray(), 0);
        byte[] Png(Tensor batch)
        {
            string file = Path.Combine(dir, $"reference-{Guid.NewGuid():N}.png");
            PngWriter.Write(ImageSheets.Grid(batch, scale: 1), file, scale: 3);
            return File.ReadAllBytes(file);
        }

        File.ReadAllBytes(Path.Combine(whole, "samples.png")).Should().Equal(Png(images), "the reference is the whole run");
        for (int i = 0; i < 2; i++)
            File.ReadAllBytes(Path.Combine(parts, $"samples-part-{i}-of-2.png")).Should().Equal(Png(images.narrow(0, ranges[i].Start, ranges[i].Count)),
                $"part {i} holds the whole run's {ranges[i]}");
    }

    [Fact]
    public void Each_part_writes_a_manifest_of_its_own_files_and_replaces_them_only_with_force()
    {
        string parts = Path.Combine(dir, "parts");
        string[] Args(int part, params string[] more) =>
            new[] { "sample", "--checkpoint", fixture.Path, "--count", "10", "--batch-size", "3", "--seed", "5", "--output", parts, "--shard", $"{part}/2" }
                .Concat(more).ToArray();
        // The two parts of 10 images in batches of 3: images 0-5 and 6-9 (the test above).
        foreach (var (part, first, images) in new[] { (0, 0, 6), (1, 6, 4) })
        {
            var run = Lmconv.Run(Args(part));
            run.Code.Should().Be(0, run.Err);
            string manifest = Path.Combine(parts, $"samples-part-{part}-of-2.json");
            run.Out.Should().Contain($"files listed in {manifest}");
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(manifest));
            var root = json.RootElement;
            root.GetProperty("command").GetString().Should().Be("sample");
            var shard = root.GetProperty("shard");
            (shard.GetProperty("index").GetInt32(), shard.GetProperty("count").GetInt32(), shard.GetProperty("first").GetInt32(), shard.GetProperty("images").GetInt32())
                .Should().Be((part, 2, first, images));
            var file = root.GetProperty("files").EnumerateArray().Should().ContainSingle().Subject;
            (file.GetProperty("path").GetString(), file.GetProperty("kind").GetString(), file.GetProperty("images").GetInt32(), file.GetProperty("first").GetInt32())
                .Should().Be(($"samples-part-{part}-of-2.png", "sheet", images, first));
        }
        Directory.GetFiles(parts).Select(Path.GetFileName).Should().BeEquivalentTo(
            "samples-part-0-of-2.png", "samples-part-0-of-2.json", "samples-part-1-of-2.png", "samples-part-1-of-2.json");

        var before = File.ReadAllBytes(Path.Combine(parts, "samples-part-0-of-2.png"));
        var again = Lmconv.Run(Args(0));
        again.Code.Should().Be(ExitCodes.BadInput);
        again.ErrLines.Should().ContainSingle().Which.Should().Contain("samples-part-0-of-2").And.Contain("--force");
        File.ReadAllBytes(Path.Combine(parts, "samples-part-0-of-2.png")).Should().Equal(before, "a refused part writes nothing");
        Lmconv.Run(Args(0, "--force")).Code.Should().Be(0);
    }

    [Fact]
    public void A_parts_sheets_hold_its_images_of_each_of_the_runs_sheets()
    {
        // 23 images in batches of at most 3 on sheets of 4: parts cut at batches, sheets at every fourth image.
        var plan = ShardedBatches.Plan(23, 3, 4);
        for (int count = 1; count <= 4; count++)
        {
            var covered = new List<int>();
            for (int index = 0; index < count; index++)
            {
                var shard = new Shard(index, count);
                var range = shard.RangeOf(plan.Select(b => b.Count).ToArray());
                var sheets = ShardedBatches.PartSheets(plan, shard);
                sheets.Sum(s => s.Images).Should().Be(range.Count);
                foreach (var sheet in sheets)
                {
                    (sheet.First / 4).Should().Be((sheet.First + sheet.Images - 1) / 4, "a part's sheet holds images of one of the run's sheets");
                    covered.AddRange(Enumerable.Range(sheet.First, sheet.Images));
                }
                sheets.Select(s => s.First / 4).Should().OnlyHaveUniqueItems().And.BeInAscendingOrder();
            }
            covered.Should().Equal(Enumerable.Range(0, 23), $"the {count} parts' sheets hold every image once, in order");
        }
    }

    [Fact]
    public void A_part_without_images_or_past_the_count_is_one_line()
    {
        string output = Path.Combine(dir, "none");
        // 4 images in one batch of 64: part 1 of 2 starts no batch.
        var empty = Lmconv.Run("sample", "--checkpoint", fixture.Path, "--count", "4", "--output", output, "--shard", "1/2");
        empty.Code.Should().Be(ExitCodes.BadInput);
        empty.ErrLines.Should().ContainSingle().Which.Should().Contain("--shard 1/2").And.Contain("no images");
        var past = Lmconv.Run("sample", "--checkpoint", fixture.Path, "--output", output, "--shard", "2/2");
        past.Code.Should().Be(ExitCodes.Usage);
        past.ErrLines.Should().ContainSingle().Which.Should().Contain("--shard 2/2");
        Directory.Exists(output).Should().BeFalse();
    }
}
