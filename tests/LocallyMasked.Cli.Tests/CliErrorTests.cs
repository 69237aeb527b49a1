using LocallyMasked.Cli;
using LocallyMasked.Cli.Data;

namespace LocallyMasked.Cli.Tests;

/// <summary>A small training checkpoint shared by the tests of a class (trained once, about a second).</summary>
public sealed class TinyCheckpoint : IDisposable
{
    public TinyCheckpoint()
    {
        Folder = Directory.CreateTempSubdirectory("lm-cli-fixture-").FullName;
        var run = Lmconv.Run(Lmconv.TinyTraining(Folder, 2));
        if (run.Code != 0) throw new InvalidOperationException($"The fixture's training failed: {run.Err}");
        Path = System.IO.Path.Combine(Folder, "model.ckpt");
    }

    public string Folder { get; }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>
/// One test per class of bad input: each ends with exactly one line on standard error that names the option or file,
/// the documented exit code, no stack trace, and nothing written or changed.
/// </summary>
public sealed class CliErrorTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-errors-").FullName;
    private readonly TinyCheckpoint fixture;

    public CliErrorTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A folder that does not exist yet: the command must not create it.</summary>
    private string Untouched => Path.Combine(dir, "out");

    private static void ShouldFailInOneLine(Lmconv.Result run, int code, params string[] named)
    {
        run.ErrLines.Should().ContainSingle($"one line is expected on standard error, got:\n{run.Err}");
        string line = run.ErrLines[0];
        line.Should().StartWith("lmconv: ");
        foreach (var name in named) line.Should().Contain(name);
        line.Should().NotContainAny("Exception", "   at ", "TypeMeta", "please report");
        run.Code.Should().Be(code, line);
    }

    private void NothingWritten()
    {
        Directory.Exists(Untouched).Should().BeFalse("a rejected command writes nothing");
        Directory.EnumerateFileSystemEntries(fixture.Folder, ".*.tmp").Should().BeEmpty();
    }

    private byte[] CheckpointCopy(string name)
    {
        string path = Path.Combine(dir, name);
        File.Copy(fixture.Path, path);
        return File.ReadAllBytes(path);
    }

    [Theory]
    [InlineData("--bogus", "train --bogus 1")]
    [InlineData("--steps", "train --steps x")]
    [InlineData("--steps", "train --steps")]
    [InlineData("trian", "trian --steps 3")]
    [InlineData("--checkpoint", "evaluate --images 3")]
    [InlineData("--dataset", "train --dataset svhn")]
    public void CommandLinesThatDoNotParseAreUsageErrors(string named, string commandLine)
    {
        var args = commandLine.Split(' ');
        var run = Lmconv.Run(args[0] == "evaluate" ? args : new[] { args[0], "--output", Untouched }.Concat(args.Skip(1)).ToArray());
        ShouldFailInOneLine(run, ExitCodes.Usage, named, "--help");
        NothingWritten();
    }

    [Theory]
    [InlineData("--steps 0")]
    [InlineData("--checkpoint-every 0")]
    [InlineData("--checkpoint-every -5")]
    [InlineData("--train-images -1")]
    [InlineData("--samples -3")]
    [InlineData("--final-eval-images -1")]
    [InlineData("--eval-every -1")]
    [InlineData("--minutes -1")]
    [InlineData("--minutes NaN")]
    [InlineData("--lr Infinity")]
    [InlineData("--lr NaN")]
    [InlineData("--lr 1e6")]
    [InlineData("--lr 0")]
    [InlineData("--batch-size 0")]
    [InlineData("--dropout 1")]
    [InlineData("--orders 9")]
    [InlineData("--filters 0")]
    [InlineData("--clip -1")]
    [InlineData("--threads 0")]
    [InlineData("--workers 0")]
    public void OutOfRangeTrainingOptionsAreRefusedBeforeAnyWork(string option)
    {
        var run = Lmconv.Run(("train " + option + " --output " + Untouched).Split(' '));
        ShouldFailInOneLine(run, ExitCodes.Usage, option.Split(' ')[0], option.Split(' ')[1]);
        NothingWritten();
    }

    [Theory]
    [InlineData("sample --count 0")]
    [InlineData("sample --count 2000000000000")]
    [InlineData("sample --batch-size 0")]
    [InlineData("sample --temperature 0")]
    [InlineData("sample --order-index -1")]
    [InlineData("complete --region middle")]
    [InlineData("complete --region box:1,2,0,4")]
    [InlineData("complete --first -1")]
    [InlineData("evaluate --images -1")]
    [InlineData("evaluate --workers 0")]
    [InlineData("evaluate --region box:a,b,c,d")]
    public void OutOfRangeOptionsOfTheOtherCommandsAreRefused(string commandLine)
    {
        var args = (commandLine + " --checkpoint " + fixture.Path).Split(' ');
        var run = Lmconv.Run(args[0] == "evaluate" ? args : args.Append("--output").Append(Untouched).ToArray());
        ShouldFailInOneLine(run, ExitCodes.Usage, commandLine.Split(' ')[1]);
        NothingWritten();
    }

    [Fact]
    public void ATextFileGivenAsACheckpointIsNamedWithoutLibtorchsMessage()
    {
        string text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(text, "These are not weights.\nJust some text that a user passed by mistake.\n");
        foreach (var command in new[] { "evaluate", "sample", "complete" })
        {
            var run = Lmconv.Run(command == "evaluate" ? new[] { command, "--checkpoint", text } : new[] { command, "--checkpoint", text, "--output", Untouched });
            ShouldFailInOneLine(run, ExitCodes.BadInput, text);
        }
        NothingWritten();
    }

    [Fact]
    public void AMissingCheckpointIsNamed()
    {
        string missing = Path.Combine(dir, "missing.ckpt");
        ShouldFailInOneLine(Lmconv.Run("evaluate", "--checkpoint", missing), ExitCodes.BadInput, "--checkpoint", missing, "not found");
        ShouldFailInOneLine(Lmconv.Run(Lmconv.TinyTraining(Untouched, 5, "--resume", missing)), ExitCodes.BadInput, "--resume", missing);
        NothingWritten();
    }

    [Fact]
    public void ACheckpointWithOneFlippedByteIsRejectedByItsChecksum()
    {
        var bytes = CheckpointCopy("flipped.ckpt");
        string path = Path.Combine(dir, "flipped.ckpt");
        bytes[bytes.Length / 2] ^= 0x10;   // inside the tensors: the header still parses
        File.WriteAllBytes(path, bytes);

        ShouldFailInOneLine(Lmconv.Run("evaluate", "--checkpoint", path, "--images", "2"), ExitCodes.BadInput, path, "checksum");
        ShouldFailInOneLine(Lmconv.Run("train", "--resume", path, "--steps", "5", "--output", Untouched), ExitCodes.BadInput, path, "checksum");
        File.ReadAllBytes(path).Should().Equal(bytes);
        NothingWritten();
    }

    [Fact]
    public void ATruncatedCheckpointIsRefusedByAverage()
    {
        string good = Path.Combine(dir, "good.ckpt"), cut = Path.Combine(dir, "cut.ckpt");
        CheckpointCopy("good.ckpt");
        File.WriteAllBytes(cut, File.ReadAllBytes(good)[..^10]);
        ShouldFailInOneLine(Lmconv.Run("evaluate", "--checkpoint", good, "--average", cut, "--images", "2"), ExitCodes.BadInput, cut);
        NothingWritten();
    }

    [Fact]
    public void ResumingARunThatIsAlreadyPastTheTargetTrainsNothingAndSaysSo()
    {
        var before = CheckpointCopy("step2.ckpt");
        string path = Path.Combine(dir, "step2.ckpt");
        foreach (var steps in new[] { "1", "2" })
        {
            var run = Lmconv.Run("train", "--resume", path, "--steps", steps, "--checkpoint", path, "--output", Untouched);
            ShouldFailInOneLine(run, ExitCodes.BadInput, "--steps", "already at step 2");
        }
        File.ReadAllBytes(path).Should().Equal(before);
        NothingWritten();
    }

    [Fact]
    public void AnEmptyDataFolderIsAnError()
    {
        string data = Path.Combine(dir, "empty-idx");
        Directory.CreateDirectory(data);
        foreach (var (name, magic, dims) in new[] { ("train-images-idx3-ubyte", 0x803, 3), ("t10k-images-idx3-ubyte", 0x803, 3), ("train-labels-idx1-ubyte", 0x801, 1), ("t10k-labels-idx1-ubyte", 0x801, 1) })
        {
            var header = new List<byte>(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(magic)));
            header.AddRange(new byte[4]);   // 0 items
            for (int d = 1; d < dims; d++) header.AddRange(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(28)));
            File.WriteAllBytes(Path.Combine(data, name), header.ToArray());
        }
        ShouldFailInOneLine(Lmconv.Run("train", "--data", data, "--output", Untouched), ExitCodes.BadInput, "no training images", "--data");
        ShouldFailInOneLine(Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--data", data), ExitCodes.BadInput, "no test images", "--data");
        NothingWritten();
    }

    [Fact]
    public void DataThatDoesNotFitTheModelsLikelihoodIsRefused()
    {
        var run = Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--dataset", "mnist", "--images", "2");
        ShouldFailInOneLine(run, ExitCodes.BadInput, "--dataset mnist", fixture.Path, "binarized-mnist");
        ShouldFailInOneLine(Lmconv.Run("complete", "--checkpoint", fixture.Path, "--dataset", "mnist", "--output", Untouched),
            ExitCodes.BadInput, "--dataset mnist");
        string copy = Path.Combine(dir, "resume.ckpt");
        CheckpointCopy("resume.ckpt");
        ShouldFailInOneLine(Lmconv.Run("train", "--resume", copy, "--dataset", "mnist", "--steps", "5", "--output", Untouched),
            ExitCodes.BadInput, "--dataset mnist");
        NothingWritten();
    }

    [Fact]
    public void AnOutputFolderThatCannotBeWrittenIsRefusedAtTheStart()
    {
        string file = Path.Combine(dir, "a-file");
        File.WriteAllText(file, "x");
        foreach (var args in new[]
        {
            new[] { "train", "--output", Path.Combine(file, "out") },
            new[] { "train", "--output", file },
            new[] { "train", "--output", Untouched, "--checkpoint", Path.Combine(file, "model.ckpt") },
            new[] { "sample", "--checkpoint", fixture.Path, "--output", Path.Combine(file, "out") },
            new[] { "orders", "--output", Path.Combine(file, "out") },
        })
        {
            var run = Lmconv.Run(args);
            ShouldFailInOneLine(run, ExitCodes.BadInput, args.Contains("--checkpoint") && args[0] == "train" ? "--checkpoint" : "--output", file);
        }
        File.ReadAllText(file).Should().Be("x");
        NothingWritten();
    }

    [Fact]
    public void ARegionOutsideTheImageIsRefusedBeforeTheEvaluation()
    {
        var run = Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--region", "box:20,20,10,10");
        ShouldFailInOneLine(run, ExitCodes.BadInput, "--region box:20,20,10,10", "28x28");
        run.Out.Should().NotContain("test NLL", "the region is checked before the evaluation runs");
        ShouldFailInOneLine(Lmconv.Run("complete", "--checkpoint", fixture.Path, "--region", "box:0,0,29,1", "--output", Untouched),
            ExitCodes.BadInput, "--region");
        NothingWritten();
    }

    [Fact]
    public void OptionsThatARunWouldIgnoreAreRefusedByName()
    {
        // A model file brings its size (recorded, or read from the tensor shapes): the size options are not evaluate's.
        var sizes = Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--filters", "32", "--images", "2");
        ShouldFailInOneLine(sizes, ExitCodes.Usage, "--filters");
        string copy = Path.Combine(dir, "resume.ckpt");
        var before = CheckpointCopy("resume.ckpt");
        var resume = Lmconv.Run("train", "--resume", copy, "--steps", "5", "--lr", "0.1", "--batch-size", "8", "--order", "hilbert", "--output", Untouched);
        ShouldFailInOneLine(resume, ExitCodes.BadInput, "--lr", "--batch-size", "--order", "--resume");
        // The bit depth is the stored model's too (it was ignored without a word).
        ShouldFailInOneLine(Lmconv.Run("train", "--resume", copy, "--steps", "5", "--bits", "4", "--output", Untouched), ExitCodes.BadInput, "--bits", "--resume");
        File.ReadAllBytes(copy).Should().Equal(before);
        NothingWritten();
    }

    [Fact]
    public void ALossThatBecomesNaNStopsTrainingAndKeepsTheLastCheckpoint()
    {
        // A checkpoint whose weights are NaN: the first step resumed from it has a NaN loss.
        string path = Path.Combine(dir, "nan.ckpt");
        var metadata = LocallyMasked.Checkpoints.CheckpointMetadata.Read(fixture.Path);
        var train = EmbeddedDigits.Read(train: true).Take(metadata.TrainingImages);
        using (var model = new LocallyMasked.Models.LocallyMaskedPixelCnn(LocallyMasked.Models.PixelCnnConfig.FromJson(metadata.ModelConfiguration)))
        using (var trainer = LocallyMasked.Training.PixelCnnTraining.CreateTrainer(model, metadata.Orders(), train, null,
                   LocallyMasked.Training.TrainerOptions.FromMetadata(metadata)))
        {
            trainer.Resume(fixture.Path);
            using (TorchSharp.torch.no_grad())
                foreach (var parameter in model.parameters()) parameter.fill_(double.NaN);
            trainer.Save(path);
        }
        var before = File.ReadAllBytes(path);

        var run = Lmconv.Run("train", "--resume", path, "--checkpoint", path, "--steps", "4", "--train-images", "64", "--output", Untouched);

        ShouldFailInOneLine(run, ExitCodes.Diverged, "NaN", "step 3", path);
        File.ReadAllBytes(path).Should().Equal(before);
    }

    [Fact]
    public void OptionsACommandCannotUseAreNotInItsHelp()
    {
        var evaluate = Lmconv.Run("evaluate", "--help");
        evaluate.Code.Should().Be(0);
        // --seed stays: it fixes the test split of a --data folder of images, as in train.
        evaluate.Out.Should().Contain("--checkpoint").And.NotContainAny("--sampler", "--dropout", "--output", "--temperature", "--filters");
        var sample = Lmconv.Run("sample", "--help");
        sample.Out.Should().Contain("--count").And.NotContainAny("--dropout", "--images");
        sample.Out.Split('\n').Should().NotContain(line => line.TrimStart().StartsWith("--data ", StringComparison.Ordinal), "sample reads no data");
        Lmconv.Run("orders", "--help").Out.Should().NotContainAny("--checkpoint", "--device", "--seed");
        Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--temperature", "3").Code.Should().Be(ExitCodes.Usage);
    }

    [Fact]
    public void VersionPrintsThePackageVersionAlone()
    {
        var run = Lmconv.Run("--version");
        run.Code.Should().Be(0);
        run.Out.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$");
    }

    [Fact]
    public void VerboseAddsTheStackTraceAndBugsAlwaysShowIt()
    {
        string missing = Path.Combine(dir, "missing.pth");
        var verbose = Lmconv.Run("evaluate", "--checkpoint", missing, "--verbose");
        verbose.Code.Should().Be(ExitCodes.BadInput);
        verbose.Err.Should().Contain("   at ");

        var error = new StringWriter();
        CliApp.Report(new NullReferenceException("boom"), verbose: false, error).Should().Be(ExitCodes.InternalError);
        error.ToString().Should().Contain("internal error").And.Contain("boom");
        var libtorch = new StringWriter();
        // A libtorch error is a bug (exit 70), in one line with a hint instead of C++ frames; running out of memory is not.
        CliApp.Report(new System.Runtime.InteropServices.ExternalException("Unsupported TypeMeta in ATen\nException raised from ... (frame)"), false, libtorch)
            .Should().Be(ExitCodes.InternalError);
        libtorch.ToString().Should().NotContain("frame").And.Contain("libtorch failed (a bug");
        libtorch.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(2, "the error line and the --verbose hint");
        var memory = new StringWriter();
        CliApp.Report(new System.Runtime.InteropServices.ExternalException("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99 GB"), false, memory)
            .Should().Be(ExitCodes.BadInput);
        memory.ToString().Should().Contain("out of memory");
    }
}
