using System.Text.Json;
using LocallyMasked.TestSupport;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using SkiaSharp;

namespace LocallyMasked.Cli.Tests.Completion;

/// <summary>A tiny 5-bit grey model (a logistic mixture), trained for two steps on the embedded digits.</summary>
public sealed class TinyGreyCheckpoint : IDisposable
{
    public TinyGreyCheckpoint()
    {
        Folder = Directory.CreateTempSubdirectory("lm-cli-grey-").FullName;
        var run = Lmconv.Run(Lmconv.TinyTraining(Folder, 2, "--dataset", "mnist", "--bits", "5", "--mixtures", "2"));
        if (run.Code != 0) throw new InvalidOperationException($"The fixture's training failed: {run.Err}");
        Path = System.IO.Path.Combine(Folder, "model.ckpt");
    }

    public string Folder { get; }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>
/// complete --image/--mask on real files: observed pixels bit-identical after the model's quantization, the mask's
/// pixels generated, the files named and listed in the manifest, and each kind of bad input refused in one line.
/// </summary>
public sealed class PictureCompletionTests : IClassFixture<TinyCheckpoint>, IClassFixture<TinyGreyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-pictures-").FullName;
    private readonly TinyCheckpoint binary;
    private readonly TinyGreyCheckpoint grey;

    public PictureCompletionTests(TinyCheckpoint binary, TinyGreyCheckpoint grey) => (this.binary, this.grey) = (binary, grey);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    /// <summary>A grey picture with every level somewhere (a fixed pseudo-random pattern).</summary>
    private static byte Level(int x, int y) => (byte)((x * 37 + y * 101 + x * y * 13) % 256);

    /// <summary>An irregular mask: a ring and a diagonal scratch.</summary>
    private static bool Missing(int x, int y)
    {
        double d = Math.Sqrt((x - 14.5) * (x - 14.5) + (y - 10.5) * (y - 10.5));
        return (d > 4 && d < 7) || (x == y && x > 18);
    }

    private string Mask(string name, int size = 28, Func<int, int, bool>? missing = null) =>
        ImageFiles.GreyPng(P(name), size, size, (x, y) => (missing ?? Missing)(x, y) ? (byte)255 : (byte)0);

    private static byte[,] Grey(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        var levels = new byte[bitmap.Height, bitmap.Width];
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                (c.Red == c.Green && c.Green == c.Blue).Should().BeTrue("a grey model's completions are grey");
                levels[y, x] = c.Red;
            }
        return levels;
    }

    private static void Succeeds(Lmconv.Result run) => run.Code.Should().Be(0, run.Err);

    [Fact]
    public void A_binary_model_keeps_every_observed_pixel_as_binarized_and_draws_the_masked_ones()
    {
        string picture = ImageFiles.GreyPng(P("digit.png"), 28, 28, Level);
        string output = P("out");
        var run = Lmconv.Run("complete", "--checkpoint", binary.Path, "--image", picture, "--mask", Mask("hole.png"), "--count", "3",
            "--batch-size", "2", "--output", output);
        Succeeds(run);
        run.Out.Should().Contain($"image {picture}: 28x28 grey, used as it is, binarized (levels 128-255 white, below black)");
        int missing = Enumerable.Range(0, 784).Count(p => Missing(p % 28, p / 28));
        run.Out.Should().Contain($"{missing} of 784 pixels missing").And.Contain($"each is drawn given all {784 - missing} observed pixels");

        var drawn = new List<byte[,]>();
        foreach (var k in new[] { "1", "2", "3" })
        {
            var levels = Grey(Path.Combine(output, $"digit-completed-{k}.png"));
            (levels.GetLength(0), levels.GetLength(1)).Should().Be((28, 28));
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    if (!Missing(x, y)) levels[y, x].Should().Be(Level(x, y) >= 128 ? (byte)255 : (byte)0, $"observed pixel ({y}, {x}) of completion {k}");
                    else levels[y, x].Should().BeOneOf((byte)0, (byte)255);
                }
            drawn.Add(levels);
        }
        bool Differ(byte[,] a, byte[,] b) => Enumerable.Range(0, 784).Any(p => a[p / 28, p % 28] != b[p / 28, p % 28]);
        (Differ(drawn[0], drawn[1]) || Differ(drawn[1], drawn[2])).Should().BeTrue("three completions of 113 binary pixels are not all alike");
        using var sheet = SKBitmap.Decode(Path.Combine(output, "completions-hole.png"));
        // One row: context, three completions, original; 28-pixel tiles with 1-pixel gaps, at scale 3.
        (sheet.Width, sheet.Height).Should().Be(((1 + 5 * 29) * 3, (1 + 29) * 3));
    }

    [Fact]
    public void A_five_bit_grey_model_keeps_observed_pixels_bit_identical_after_its_quantization()
    {
        string first = ImageFiles.GreyPng(P("a.png"), 28, 28, Level);
        string second = ImageFiles.GreyPng(P("b.png"), 28, 28, (x, y) => Level(27 - x, y));
        string output = P("out");
        Succeeds(Lmconv.Run("complete", "--checkpoint", grey.Path, "--image", first, "--image", second, "--mask", Mask("scratch.png"),
            "--output", output));
        // 5 bits: level L = floor(b / 8) of 31, drawn back as round(L * 255 / 31); independent of the program's code path.
        static byte Quantized(byte b) => (byte)Math.Round(b / 8 * 255.0 / 31, MidpointRounding.AwayFromZero);
        var levels31 = Enumerable.Range(0, 32).Select(l => (byte)Math.Round(l * 255.0 / 31, MidpointRounding.AwayFromZero)).ToHashSet();
        foreach (var (name, level) in new (string, Func<int, int, byte>)[] { ("a", Level), ("b", (x, y) => Level(27 - x, y)) })
        {
            var levels = Grey(Path.Combine(output, $"{name}-completed.png"));
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    if (Missing(x, y)) levels31.Should().Contain(levels[y, x], "a generated pixel is one of the 32 levels");
                    else levels[y, x].Should().Be(Quantized(level(x, y)), $"observed pixel ({y}, {x}) of {name}");
        }
    }

    [Fact]
    public void The_manifest_lists_exactly_the_files_written()
    {
        string picture = ImageFiles.GreyPng(P("seven.png"), 28, 28, Level);
        void Check(string output, string manifest, params string[] args)
        {
            Succeeds(Lmconv.Run(args.Concat(new[] { "--output", output }).ToArray()));
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, manifest)));
            var root = json.RootElement;
            root.GetProperty("version").GetInt32().Should().Be(1);
            root.GetProperty("command").GetString().Should().Be(args[0]);
            root.GetProperty("checkpoint").GetString().Should().Be(binary.Path);
            root.GetProperty("seed").GetUInt64().Should().Be(1);
            root.GetProperty("order").GetProperty("index").GetInt32().Should().Be(0);
            var listed = root.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()!).ToArray();
            listed.Should().OnlyHaveUniqueItems();
            listed.Append(manifest).Should().BeEquivalentTo(Directory.GetFiles(output).Select(Path.GetFileName),
                "the manifest names every file the run wrote and nothing else");
        }
        Check(P("sampled"), "samples.json", "sample", "--checkpoint", binary.Path, "--count", "3", "--orders", "2");
        Check(P("tests"), "completions-top.json", "complete", "--checkpoint", binary.Path, "--region", "top", "--count", "2");
        Check(P("pictures"), "completions-hole.json", "complete", "--checkpoint", binary.Path, "--image", picture, "--mask", Mask("hole.png"), "--count", "2");

        using var pictures = JsonDocument.Parse(File.ReadAllText(Path.Combine(P("pictures"), "completions-hole.json")));
        var files = pictures.RootElement.GetProperty("files").EnumerateArray().ToArray();
        files.Select(f => (f.GetProperty("path").GetString(), f.GetProperty("kind").GetString())).Should().Equal(
            ("seven-completed-1.png", "completion"), ("seven-completed-2.png", "completion"), ("completions-hole.png", "sheet"));
        files[1].GetProperty("image").GetString().Should().Be(picture);
        files[1].GetProperty("completion").GetInt32().Should().Be(2);
        files[2].GetProperty("images").GetInt32().Should().Be(1);
        pictures.RootElement.GetProperty("order").GetProperty("missingLast").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public void The_readmes_own_picture_command_writes_what_the_readme_says()
    {
        // README, "Complete your own picture", with the tiny fixture model instead of the main job's.
        string images = RepositoryFiles.Find("docs/images");
        string output = P("own");
        var run = Lmconv.Run("complete", "--checkpoint", binary.Path, "--image", Path.Combine(images, "digit-8.png"),
            "--mask", Path.Combine(images, "digit-8-mask.png"), "--count", "4", "--output", output);
        Succeeds(run);
        Directory.GetFiles(output).Select(Path.GetFileName).Should().BeEquivalentTo(
            "digit-8-completed-1.png", "digit-8-completed-2.png", "digit-8-completed-3.png", "digit-8-completed-4.png",
            "completions-digit-8-mask.png", "completions-digit-8-mask.json");
        using var committed = SKBitmap.Decode(Path.Combine(images, "digit-8-completions.png"));
        using var sheet = SKBitmap.Decode(Path.Combine(output, "completions-digit-8-mask.png"));
        (committed.Width, committed.Height).Should().Be((sheet.Width, sheet.Height), "the README's picture is this command's sheet");
    }

    [Fact]
    public void A_larger_picture_and_its_mask_are_cropped_and_scaled_to_the_model_and_say_so()
    {
        // 56x84: the centre 56x56 is kept and halved; one white mask pixel at the crop's corner marks one model pixel.
        string picture = ImageFiles.GreyPng(P("wide.png"), 84, 56, (x, y) => (byte)(x * 3));
        string mask = ImageFiles.GreyPng(P("corner.png"), 84, 56, (x, y) => x == 14 && y == 0 ? (byte)255 : (byte)0);
        string output = P("out");
        var run = Lmconv.Run("complete", "--checkpoint", binary.Path, "--image", picture, "--mask", mask, "--output", output);
        Succeeds(run);
        run.Out.Should().Contain($"image {picture}: 56x84 grey, centre-cropped to 56x56, resized to 28x28");
        run.Out.Should().Contain($"mask {mask}: 56x84, centre-cropped to 56x56, scaled to 28x28").And.Contain("1 of 784 pixels missing");
        using var completed = SKBitmap.Decode(Path.Combine(output, "wide-completed.png"));
        (completed.Width, completed.Height).Should().Be((28, 28));
    }

    [Fact]
    public void An_existing_file_is_replaced_only_with_force()
    {
        string output = P("out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "samples.png"), "train's samples");
        var refused = Lmconv.Run("sample", "--checkpoint", binary.Path, "--count", "2", "--output", output);
        refused.Code.Should().Be(ExitCodes.BadInput);
        refused.ErrLines.Should().ContainSingle().Which.Should().Contain("samples.png").And.Contain("--force");
        File.ReadAllText(Path.Combine(output, "samples.png")).Should().Be("train's samples");
        Directory.GetFiles(output).Should().HaveCount(1, "a refused run writes nothing");

        Succeeds(Lmconv.Run("sample", "--checkpoint", binary.Path, "--count", "2", "--output", output, "--force"));
        using (var sheet = SKBitmap.Decode(Path.Combine(output, "samples.png"))) sheet.Should().NotBeNull();

        string picture = ImageFiles.GreyPng(P("x.png"), 28, 28, Level);
        Succeeds(Lmconv.Run("complete", "--checkpoint", binary.Path, "--image", picture, "--output", output));
        var again = Lmconv.Run("complete", "--checkpoint", binary.Path, "--image", picture, "--output", output);
        again.ErrLines.Should().ContainSingle().Which.Should().Contain("x-completed.png").And.Contain("--force");
        // Another region of the same picture writes the same completion file name: refused as well.
        Lmconv.Run("complete", "--checkpoint", binary.Path, "--image", picture, "--region", "top", "--output", output).Code.Should().Be(ExitCodes.BadInput);
    }

    [Fact]
    public void Progress_lines_count_what_they_say()
    {
        string output = P("out");
        var run = Lmconv.Run("complete", "--checkpoint", binary.Path, "--region", "bottom", "--count", "8", "--output", output);
        Succeeds(run);
        var lines = run.Out.Split('\n').Where(l => l.StartsWith("completing:", StringComparison.Ordinal)).ToArray();
        lines.Should().NotBeEmpty();
        lines[^1].Should().Contain("100%").And.Contain("8/8 images");
        foreach (var line in lines)
        {
            int percent = int.Parse(line["completing:".Length..line.IndexOf('%')].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var during = System.Text.RegularExpressions.Regex.Match(line, @"images (\d+)-(\d+) of (\d+): pixel (\d+)/(\d+)");
            var after = System.Text.RegularExpressions.Regex.Match(line, @" (\d+)/(\d+) images");
            double fraction = during.Success
                ? ((double.Parse(during.Groups[1].Value) - 1) * double.Parse(during.Groups[5].Value)
                    + (double.Parse(during.Groups[2].Value) - double.Parse(during.Groups[1].Value) + 1) * double.Parse(during.Groups[4].Value))
                    / (double.Parse(during.Groups[3].Value) * double.Parse(during.Groups[5].Value))
                : double.Parse(after.Groups[1].Value) / double.Parse(after.Groups[2].Value);
            (during.Success || after.Success).Should().BeTrue(line);
            percent.Should().BeCloseTo((int)Math.Round(100 * fraction), 1, line);
        }
    }

    [Fact]
    public void The_progress_text_of_a_batch_counts_the_work_the_line_reports()
    {
        // Every step of every batch of 20 images in batches of 8, 784 pixels each: the text's numbers give the amount done.
        int before = 0;
        foreach (int batch in new[] { 8, 8, 4 })
        {
            for (int step = 1; step < 784; step++)
            {
                long done = BatchProgress.Done(before, batch, step, 784);
                var text = BatchProgress.During(before, batch, 20, step, 784);
                text.Should().Be($"images {before + 1}-{before + batch} of 20: pixel {step}/784");
                done.Should().Be((long)before * 784 + (long)step * batch);
            }
            before += batch;
            BatchProgress.After(before, 20).Should().Be($"{before}/20 images");
        }
    }

    private void ShouldFailInOneLine(Lmconv.Result run, params string[] named)
    {
        run.ErrLines.Should().ContainSingle($"one line is expected on standard error, got:\n{run.Err}");
        foreach (var name in named) run.ErrLines[0].Should().Contain(name);
        run.ErrLines[0].Should().NotContainAny("Exception", "   at ");
        run.Code.Should().Be(ExitCodes.BadInput, run.ErrLines[0]);
        Directory.Exists(P("out")).Should().BeFalse("a refused run writes nothing");
    }

    [Fact]
    public void Each_kind_of_bad_picture_or_mask_is_refused_in_one_line()
    {
        string picture = ImageFiles.GreyPng(P("pic.png"), 28, 28, Level);
        string[] Complete(params string[] more) =>
            new[] { "complete", "--checkpoint", binary.Path, "--output", P("out") }.Concat(more).ToArray();

        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--mask", Mask("small.png", 20))), "--mask", "20x20", "28x28", "white (levels 224-255)");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--mask", Mask("small-black.png", 20, (_, _) => false))), "--mask", "20x20",
            "28x28", "must have its size");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--mask", Mask("black.png", missing: (_, _) => false))),
            "--mask", "no pixel is white", "the completion would be the picture itself");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--mask", Mask("white.png", missing: (_, _) => true))),
            "--mask", "every pixel is white", "lmconv sample");
        string soft = ImageFiles.GreyPng(P("soft.png"), 28, 28, (x, y) => x == 5 && y == 3 ? (byte)128 : x > 14 ? (byte)255 : (byte)0);
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--mask", soft)), "--mask", "1 pixel is neither black nor white",
            "row 3, column 5: level 128", "white (levels 224-255) is missing, black (0-31) observed");
        string colour = ImageFiles.Png(P("colour.png"), 28, 28, (x, y) => ((byte)(x * 9), (byte)(y * 9), 40));
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", colour)), "--image", "colour", "grey images (1 channel)");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--data", dir)), "--data", "with --image");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--first", "3")), "--first", "with --image");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--mask", Mask("m.png"), "--region", "top")), "--mask", "--region");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", P("absent.png"))), "--image", "absent.png", "not found");
        string twin = ImageFiles.GreyPng(Path.Combine(dir, "other", "pic.png"), 28, 28, Level);
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", picture, "--image", twin)), "--image", "pic", "rename");
        string notImage = P("notes.png");
        File.WriteAllText(notImage, "not a picture");
        ShouldFailInOneLine(Lmconv.Run(Complete("--image", notImage)), "--image", "notes.png");
        ShouldFailInOneLine(Lmconv.Run(Complete("--mask", Mask("other-size.png", 20))), "--mask", "20x20", "the test images' size is 28x28");
    }

    [Fact]
    public void A_picture_is_fitted_to_the_models_channels_or_refused()
    {
        var rgb = new LocallyMasked.Models.PixelCnnConfig { ImageChannels = 3, Height = 4, Width = 4 };
        string greyFile = ImageFiles.GreyPng(P("g.png"), 4, 4, (x, y) => (byte)(x * 60 + y));
        var picture = PictureReader.Read(greyFile, rgb);
        picture.Fitting.Should().Be("4x4 grey, grey copied to R, G and B");
        for (int p = 0; p < 16; p++)
        {
            byte level = (byte)(p % 4 * 60 + p / 4);
            new[] { picture.Planes[p], picture.Planes[16 + p], picture.Planes[32 + p] }.Should().Equal(new[] { level, level, level });
        }
        string colourFile = ImageFiles.Png(P("c.png"), 4, 4, (x, y) => ((byte)(x * 60), (byte)(y * 60), 7));
        var colour = PictureReader.Read(colourFile, rgb);
        colour.Planes[1].Should().Be(60, "R of pixel (0, 1)");
        colour.Planes[16 + 4].Should().Be(60, "G of pixel (1, 0)");
        colour.Planes[32].Should().Be(7);
        var grey = rgb with { ImageChannels = 1 };
        var refused = () => PictureReader.Read(colourFile, grey);
        refused.Should().Throw<InputError>().WithMessage("--image *colour*");
    }

    [Fact]
    public void A_mask_is_black_and_white_by_stated_levels_and_scales_by_any_covered_pixel()
    {
        // Levels 31 and 224 are the last black and the first white; 32 and 223 are refused.
        string edges = ImageFiles.GreyPng(P("edges.png"), 4, 4, (x, y) => x < 2 ? (byte)31 : (byte)224);
        var mask = MaskReader.Read(edges, 4, 4);
        mask.Missing.Pixels.Should().Equal(2, 3, 6, 7, 10, 11, 14, 15);
        mask.Fitting.Should().Be("used as it is");
        foreach (byte level in new byte[] { 32, 223 })
        {
            string grey = ImageFiles.GreyPng(P($"l{level}.png"), 4, 4, (x, y) => x == 0 ? level : (byte)255);
            var refused = () => MaskReader.Read(grey, 4, 4);
            refused.Should().Throw<InputError>().WithMessage($"*4 pixels are neither black nor white*level {level}*");
        }
        // 8x8 onto 4x4: a grid pixel covers 2x2 mask pixels and is missing if any of them is white.
        string fine = ImageFiles.GreyPng(P("fine.png"), 8, 8, (x, y) => (x, y) is (3, 0) or (4, 7) ? (byte)255 : (byte)0);
        MaskReader.Read(fine, 4, 4).Missing.Pixels.Should().Equal(1, 14);
    }
}
