using LocallyMasked.Checkpoints;
using LocallyMasked.Orders;
using LocallyMasked.Training.Checkpoints;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Checkpoints;

/// <summary>The trainer's checkpoints: atomic saves, all-or-nothing loads, refusals before anything changes, old formats.</summary>
public sealed class TrainingCheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ImageDataset Images(int count, int side, bool grey) => TrainerTests.Images(count, side, grey);

    private static (TinyAutoregressiveModel Model, Trainer Trainer) Create(ImageDataset data, TrainerOptions options, long seed = 7) =>
        TrainerTests.Create(data, options, seed);

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
            TrainingCheckpointFile.ReadMetadata(path).Step.Should().Be(2);
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
            var act2 = () => TrainingCheckpointFile.ReadMetadata(other);
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

            var act = () => TrainingCheckpoint.Load(path, model, null, null);

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

            var act = () => TrainingCheckpoint.Load(path, model, partial, null);

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
            TrainingCheckpointFile.ReadMetadata(path).Format.Should().Be(1);
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
