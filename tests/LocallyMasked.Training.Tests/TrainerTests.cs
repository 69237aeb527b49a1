using LocallyMasked.Training.Data;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Checkpoints;

namespace LocallyMasked.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-train-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    internal static ImageDataset Images(int count, int side, bool grey)
    {
        var random = new SeededRandom(42);
        var pixels = new byte[count * side * side];
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = grey ? (byte)random.NextInt(256) : (byte)(random.NextInt(2) * 255);
        return new ImageDataset(pixels, new byte[count], 1, side, side, "generated");
    }

    internal static IReadOnlyList<GenerationOrder> Orders(int side) => GenerationOrders.SCurve(side, side).Variants().Take(4).ToArray();

    internal static (TinyAutoregressiveModel Model, Trainer Trainer) Create(ImageDataset data, TrainerOptions options, long seed = 7)
    {
        var model = new TinyAutoregressiveModel(data.Height * data.Width, seed);
        var trainer = new Trainer(model, model.NegativeLogLikelihood, Orders(data.Height), data, data, options, "{\"pixels\":16}");
        return (model, trainer);
    }

    [Fact]
    public void AFewStepsOverfitATinyBatch()
    {
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 8, LearningRate = 0.05, Encoding = InputEncoding.DynamicBinarization });
        using (model)
        using (trainer)
        {
            double before = trainer.EvaluateTest();
            var losses = trainer.Train(60);
            double after = trainer.EvaluateTest();
            losses.Should().HaveCount(60);
            losses.TakeLast(5).Average().Should().BeLessThan(losses.Take(5).Average() * 0.7);
            after.Should().BeLessThan(before * 0.7);
        }
    }

    [Fact]
    public void ResumingGivesTheSameLossesAsAnUninterruptedRun()
    {
        var data = Images(24, 4, grey: true);
        var options = new TrainerOptions
        {
            BatchSize = 8, LearningRate = 0.02, LearningRateDecay = 0.99, EmaDecay = 0.9, MaxGradientNorm = 5,
            Encoding = InputEncoding.DynamicBinarization, OrderSampling = OrderSampling.PerImage, Seed = 3,
        };
        List<double> uninterrupted;
        var (m1, t1) = Create(data, options);
        using (m1)
        using (t1) uninterrupted = t1.Train(10).ToList();

        string path = Path.Combine(dir, "resume.ckpt");
        var (m2, t2) = Create(data, options);
        List<double> first;
        using (m2)
        using (t2)
        {
            first = t2.Train(4).ToList();
            t2.Save(path);
        }
        // A fresh model with different initial weights: everything must come from the checkpoint.
        var (m3, t3) = Create(data, options, seed: 99);
        using (m3)
        using (t3)
        {
            t3.Resume(path);
            t3.Step.Should().Be(4);
            var rest = t3.Train(10);
            first.Concat(rest).Should().Equal(uninterrupted);
        }
    }

    [Fact]
    public void TrainingStepsLeaveNoLiveTensorsBehind()
    {
        var data = Images(16, 4, grey: true);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, EmaDecay = 0.5, MaxGradientNorm = 1, Encoding = InputEncoding.DynamicBinarization });
        using (model)
        using (trainer)
        {
            trainer.Train(1);
            long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            trainer.Train(5);
            trainer.EvaluateTest(8, 4);
            DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(live);
        }
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousCheckpointLoadable()
    {
        var data = Images(16, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, EmaDecay = 0.9 });
        using (model)
        using (trainer)
        {
            string path = Path.Combine(dir, "model.ckpt");
            trainer.Train(2);
            trainer.Save(path);
            var saved = model.parameters().Select(p => p.detach().clone()).ToArray();
            trainer.Train(5);

            // An exception in the middle of writing (after 300 bytes reached the temporary file).
            var act = () => AtomicFile.Write(path, stream => trainer.Save(new FailingStream(stream, failAfter: 300)));
            act.Should().Throw<IOException>().WithMessage("*injected*");
            // An unwritable target: a folder stands where the file should go.
            string blocked = Path.Combine(dir, "blocked.ckpt");
            Directory.CreateDirectory(blocked);
            var act2 = () => trainer.Save(blocked);
            act2.Should().Throw<Exception>();

            Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "model.ckpt" }, "no temporary file survives");
            CheckpointFile.ReadMetadata(path).Step.Should().Be(2);
            var (m2, t2) = Create(data, new TrainerOptions { BatchSize = 4, EmaDecay = 0.9 }, seed: 5);
            using (m2)
            using (t2)
            {
                t2.Resume(path);
                t2.Step.Should().Be(2);
                foreach (var (a, b) in m2.parameters().Zip(saved)) a.allclose(b, rtol: 0, atol: 0).Should().BeTrue();
            }
            foreach (var t in saved) t.Dispose();
        }
    }

    [Fact]
    public void TruncatedOrForeignCheckpointsAreRejectedWithTheirName()
    {
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4 });
        using (model)
        using (trainer)
        {
            string path = Path.Combine(dir, "cut.ckpt");
            trainer.Save(path);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length - 40)]);
            var act = () => trainer.Resume(path);
            act.Should().Throw<InvalidDataException>().WithMessage("*cut.ckpt*");
            string other = Path.Combine(dir, "other.bin");
            File.WriteAllBytes(other, new byte[] { 1, 2, 3, 4, 5 });
            var act2 = () => CheckpointFile.ReadMetadata(other);
            act2.Should().Throw<InvalidDataException>().WithMessage("*other.bin*not a LocallyMasked*");
        }
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.6)]
    [InlineData(0.9)]
    [InlineData(0.999)]
    public void AFailedResumeLeavesTheModelAsItWas(double keptFraction)
    {
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, LearningRate = 0.05, EmaDecay = 0.5 });
        using (model)
        using (trainer)
        {
            // A checkpoint of other weights, cut short: the file is rejected before anything is copied.
            trainer.Train(2);
            string path = Path.Combine(dir, "cut.ckpt");
            trainer.Save(path);
            trainer.Train(4);
            var before = model.parameters().Select(p => p.detach().clone()).ToArray();
            long stepBefore = trainer.Step;
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keptFraction)]);

            var act = () => trainer.Resume(path);

            act.Should().Throw<InvalidDataException>().WithMessage("*cut.ckpt*");
            trainer.Step.Should().Be(stepBefore);
            foreach (var (now, then) in model.parameters().Zip(before)) now.allclose(then, rtol: 0, atol: 0).Should().BeTrue();
            foreach (var t in before) t.Dispose();
        }
    }

    [Fact]
    public void ACheckpointOfAnotherShapeIsRejectedBeforeAnyWeightChanges()
    {
        var small = Images(8, 4, grey: false);
        var (model, trainer) = Create(small, new TrainerOptions { BatchSize = 4 });
        var big = Images(8, 5, grey: false);
        var (otherModel, otherTrainer) = Create(big, new TrainerOptions { BatchSize = 4 });
        using (model)
        using (trainer)
        using (otherModel)
        using (otherTrainer)
        {
            string path = Path.Combine(dir, "other-shape.ckpt");
            otherTrainer.Save(path);
            var before = model.parameters().Select(p => p.detach().clone()).ToArray();

            var act = () => CheckpointFile.Load(path, new CheckpointFile.Parts(model, null, null));

            act.Should().Throw<InvalidDataException>().WithMessage("*other-shape.ckpt*");
            foreach (var (now, then) in model.parameters().Zip(before)) now.allclose(then, rtol: 0, atol: 0).Should().BeTrue();
            foreach (var t in before) t.Dispose();
        }
    }

    [Fact]
    public void AnOptimizerStateThatDoesNotFitIsRolledBackWithTheWeights()
    {
        // The checking pass cannot see this mismatch (TorchSharp's optimizer format is opaque); applying fails in the
        // optimizer, after the weights were copied, and everything is put back.
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, LearningRate = 0.05 });
        using (model)
        using (trainer)
        {
            trainer.Train(2);
            string path = Path.Combine(dir, "adam-over-all.ckpt");
            trainer.Save(path);
            trainer.Train(3);
            var before = model.parameters().Select(p => p.detach().clone()).ToArray();
            using var partial = optim.Adam(new[] { model.parameters().First() }, 0.01);

            var act = () => CheckpointFile.Load(path, new CheckpointFile.Parts(model, partial, null));

            act.Should().Throw<InvalidDataException>().WithMessage("*adam-over-all.ckpt*optimizer*");
            foreach (var (now, then) in model.parameters().Zip(before)) now.allclose(then, rtol: 0, atol: 0).Should().BeTrue();
            foreach (var t in before) t.Dispose();
        }
    }

    [Fact]
    public void ResumingFromAnotherOrderSetChangesNothing()
    {
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, LearningRate = 0.05 });
        using var otherModel = new TinyAutoregressiveModel(16, 7);
        var otherOrders = GenerationOrders.SCurve(4, 4).Variants().Skip(4).ToArray();
        using var other = new Trainer(otherModel, otherModel.NegativeLogLikelihood, otherOrders, data, data, new TrainerOptions { BatchSize = 4 }, "{\"pixels\":16}");
        using (model)
        using (trainer)
        {
            other.Train(3);
            string path = Path.Combine(dir, "other-orders.ckpt");
            other.Save(path);
            trainer.Train(2);
            var before = model.parameters().Select(p => p.detach().clone()).ToArray();

            var act = () => trainer.Resume(path);

            act.Should().Throw<InvalidDataException>().WithMessage("*other-orders.ckpt*different order set*");
            trainer.Step.Should().Be(2);
            foreach (var (now, then) in model.parameters().Zip(before)) now.allclose(then, rtol: 0, atol: 0).Should().BeTrue();
            foreach (var t in before) t.Dispose();
        }
    }

    [Fact]
    public void AFormatOneCheckpointStillResumes()
    {
        // Format 1 had neither the training-image count nor the decay unit in its metadata.
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, LearningRate = 0.05 });
        using (model)
        using (trainer)
        {
            trainer.Train(3);
            string path = Path.Combine(dir, "format1.ckpt");
            trainer.Save(path);
            var saved = model.parameters().Select(p => p.detach().clone()).ToArray();
            RewriteMetadata(path, json =>
            {
                json["Format"] = 1;
                json.Remove("TrainingImages");
                json["Options"]!.AsObject().Remove("DecayEvery");
            });
            trainer.Train(2);

            trainer.Resume(path);

            trainer.Step.Should().Be(3);
            trainer.Options.DecayEvery.Should().Be(LearningRateDecayUnit.Step);
            foreach (var (now, then) in model.parameters().Zip(saved)) now.allclose(then, rtol: 0, atol: 0).Should().BeTrue();
            foreach (var t in saved) t.Dispose();
            CheckpointFile.ReadMetadata(path).Format.Should().Be(1);
        }
    }

    [Fact]
    public void ResumingWithAnotherNumberOfTrainingImagesIsRefused()
    {
        var (model, trainer) = Create(Images(8, 4, grey: false), new TrainerOptions { BatchSize = 4 });
        var (otherModel, other) = Create(Images(12, 4, grey: false), new TrainerOptions { BatchSize = 4 });
        using (model)
        using (trainer)
        using (otherModel)
        using (other)
        {
            string path = Path.Combine(dir, "twelve.ckpt");
            other.Save(path);
            var act = () => trainer.Resume(path);
            act.Should().Throw<InvalidDataException>().WithMessage("*twelve.ckpt*12 images*8*");
        }
    }

    /// <summary>Edits a checkpoint's metadata and drops its checksum trailer (8-byte tag + SHA-256), as in formats 1 and 2.</summary>
    private static void RewriteMetadata(string path, Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var bytes = File.ReadAllBytes(path)[..^40];
        using var reader = new BinaryReader(new MemoryStream(bytes));
        string magic = reader.ReadString();
        var json = System.Text.Json.Nodes.JsonNode.Parse(reader.ReadString())!.AsObject();
        edit(json);
        using var output = new MemoryStream();
        using (var writer = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(magic);
            writer.Write(json.ToJsonString());
            writer.Write(bytes, (int)reader.BaseStream.Position, bytes.Length - (int)reader.BaseStream.Position);
        }
        File.WriteAllBytes(path, output.ToArray());
    }

    [Fact]
    public void WeightAverageFollowsTheExponentialRecurrence()
    {
        using var model = new TinyAutoregressiveModel(4, 3);
        using var average = new WeightAverage(model, 0.75);
        var w0 = model.parameters().First().detach().clone();
        using (no_grad()) model.parameters().First().add_(1.0);
        average.Update();
        var expected = w0 * 0.75 + (w0 + 1.0) * 0.25;
        average.Tensors.Values.OrderBy(t => t.numel()).Last().allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue();
        using (average.Apply())
            model.parameters().First().allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue();
        model.parameters().First().allclose(w0 + 1.0, rtol: 0, atol: 0).Should().BeTrue();
    }

    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (written + count > failAfter)
            {
                inner.Write(buffer, offset, (int)(failAfter - written));
                throw new IOException("injected failure while writing");
            }
            inner.Write(buffer, offset, count);
            written += count;
        }
    }
}
