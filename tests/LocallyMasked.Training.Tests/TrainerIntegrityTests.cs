using System.Diagnostics;
using LocallyMasked.Checkpoints;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>Checksums, orphaned temporary files, divergence and the trainer's use of torch's generator.</summary>
public sealed class TrainerIntegrityTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-integrity-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ImageDataset Images(int count, int side)
    {
        var random = new SeededRandom(42);
        var pixels = new byte[count * side * side];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(random.NextInt(2) * 255);
        return new ImageDataset(pixels, new byte[count], 1, side, side, "generated");
    }

    private static (TinyAutoregressiveModel Model, Trainer Trainer) Create(NegativeLogLikelihood? objective = null, int workers = 1)
    {
        var data = Images(8, 4);
        var model = new TinyAutoregressiveModel(16, 7);
        var trainer = new Trainer(model, objective ?? new NegativeLogLikelihood(model.NegativeLogLikelihood), GenerationOrders.SCurve(4, 4).Variants().Take(2).ToArray(),
            data, data, new TrainerOptions { BatchSize = 4, LearningRate = 0.05, EmaDecay = 0.9, Workers = workers }, "{}");
        return (model, trainer);
    }

    private static Tensor[] Snapshot(TinyAutoregressiveModel model) => model.parameters().Select(p => p.detach().clone()).ToArray();

    private static void ShouldEqual(TinyAutoregressiveModel model, Tensor[] snapshot)
    {
        foreach (var (now, then) in model.parameters().Zip(snapshot)) now.equal(then).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void OneFlippedByteAnywhereIsRejectedWithTheFileNameBeforeAnythingChanges()
    {
        var (model, trainer) = Create();
        using (model)
        using (trainer)
        {
            trainer.Train(2);
            string good = Path.Combine(dir, "good.ckpt");
            trainer.Save(good);
            var bytes = File.ReadAllBytes(good);
            TrainingCheckpointFile.ReadMetadata(good).Format.Should().Be(CheckpointMetadata.CurrentFormat);
            trainer.Train(3);
            var trained = Snapshot(model);

            // Positions in the header, the metadata, the tensors, the end marker, the trailer's tag and its hash.
            var positions = Enumerable.Range(0, 24).Select(i => (int)((long)i * (bytes.Length - 1) / 23))
                .Concat(new[] { 1, 30, bytes.Length - 41, bytes.Length - 40, bytes.Length - 33, bytes.Length - 1 }).Distinct();
            foreach (int position in positions)
            {
                string path = Path.Combine(dir, $"flipped-{position}.ckpt");
                var flipped = (byte[])bytes.Clone();
                flipped[position] ^= 0x04;
                File.WriteAllBytes(path, flipped);
                var resume = () => trainer.Resume(path);
                resume.Should().Throw<InvalidDataException>($"byte {position} of {bytes.Length} was flipped").WithMessage($"*{path}*");
                var read = () => CheckpointMetadata.Read(path);
                read.Should().Throw<InvalidDataException>().WithMessage($"*{path}*");
                ShouldEqual(model, trained);
                trainer.Step.Should().Be(3);
            }
            trainer.Resume(good);
            trainer.Step.Should().Be(2);
            foreach (var t in trained) t.Dispose();
        }
    }

    [Fact]
    public void OrphanedTemporaryFilesOfKilledSavesAreRemovedAtTheNextSave()
    {
        var (model, trainer) = Create();
        using (model)
        using (trainer)
        using (var alive = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!)
        {
            try
            {
                string Temporary(string target, int pid) => Path.Combine(dir, $".{target}.{pid}.{Guid.NewGuid():N}.tmp");
                string dead = Temporary("model.ckpt", int.MaxValue);          // no such process
                string ours = Temporary("model.ckpt", Environment.ProcessId); // this process, not writing it (a reused id)
                string running = Temporary("model.ckpt", alive.Id);           // another process that may be writing now
                string other = Temporary("other.ckpt", int.MaxValue);         // another target
                string lookalike = Path.Combine(dir, ".model.ckpt.notes.tmp");
                foreach (var file in new[] { dead, ours, running, other, lookalike }) File.WriteAllBytes(file, new byte[1000]);

                trainer.Save(Path.Combine(dir, "model.ckpt"));

                File.Exists(dead).Should().BeFalse();
                File.Exists(ours).Should().BeFalse();
                File.Exists(running).Should().BeTrue();
                File.Exists(other).Should().BeTrue();
                File.Exists(lookalike).Should().BeTrue();
                CheckpointMetadata.Read(Path.Combine(dir, "model.ckpt")).Step.Should().Be(0);
            }
            finally
            {
                alive.Kill();
                alive.WaitForExit();
            }
        }
    }

    [Fact]
    public void ANonFiniteLossStopsTrainingBeforeTheUpdate()
    {
        bool poison = false;
        TinyAutoregressiveModel? inner = null;
        NegativeLogLikelihood objective = (x, orders, _) => poison ? inner!.NegativeLogLikelihood(x, orders) * double.NaN : inner!.NegativeLogLikelihood(x, orders);
        var (model, trainer) = Create(objective);
        inner = model;
        using (model)
        using (trainer)
        {
            trainer.Train(2);
            string path = Path.Combine(dir, "last-good.ckpt");
            trainer.Save(path);
            var saved = File.ReadAllBytes(path);
            var weights = Snapshot(model);
            var average = trainer.Average!.Tensors.Values.Select(t => t.clone()).ToArray();

            poison = true;
            var act = () => trainer.Train(10);
            act.Should().Throw<TrainingDivergedException>().Where(e => e.Step == 2 && double.IsNaN(e.Value))
                .WithMessage("*NaN*step 3*after 2 updates*the loss of training image*learning rate*")
                .Where(e => e.FirstNonFinite!.StartsWith("the loss of training image"));

            trainer.Step.Should().Be(2);
            ShouldEqual(model, weights);
            foreach (var (now, then) in trainer.Average.Tensors.Values.Zip(average)) now.equal(then).all().item<bool>().Should().BeTrue();
            File.ReadAllBytes(path).Should().Equal(saved);
            poison = false;
            trainer.Train(3);
            trainer.Step.Should().Be(3);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ANonFiniteWeightAtTheFirstStepIsNamedAndTheLearningRateIsRuledOut(int workers)
    {
        var (model, trainer) = Create(workers: workers);
        using (model)
        using (trainer)
        {
            var (name, parameter) = model.named_parameters().Last();
            using (no_grad()) parameter.view(-1)[0] = tensor(double.NaN, parameter.dtype);
            var act = () => trainer.TrainStep();
            act.Should().Throw<TrainingDivergedException>()
                .WithMessage("*step 1, before any update, so the learning rate is not the cause*")
                .Where(e => e.Step == 0 && e.FirstNonFinite == $"parameter '{name}'");
            trainer.Step.Should().Be(0);
        }
    }

    [Fact]
    public void ANonFiniteGradientNamesItsParameter()
    {
        TinyAutoregressiveModel? inner = null;
        // d/dx sqrt(x) at 0 is infinite: the loss stays finite while one parameter's gradient does not.
        NegativeLogLikelihood objective = (x, orders, _) =>
        {
            var first = inner!.parameters().First();
            return inner.NegativeLogLikelihood(x, orders) + (first - first.detach()).flatten()[0].abs().sqrt();
        };
        var (model, trainer) = Create(objective);
        inner = model;
        using (model)
        using (trainer)
        {
            var act = () => trainer.TrainStep();
            var name = model.named_parameters().First().name;
            act.Should().Throw<TrainingDivergedException>().WithMessage("*gradient norm*step 1, before any update*")
                .Where(e => e.FirstNonFinite == $"the gradient of parameter '{name}'");
        }
    }

    [Fact]
    public void AStepLeavesTheCallersRandomGeneratorAsItWas()
    {
        var (model, trainer) = Create();
        using (model)
        using (trainer)
        {
            torch.random.manual_seed(3);
            using var before = torch.random.get_rng_state();
            trainer.Train(2);
            using var after = torch.random.get_rng_state();
            after.equal(before).all().item<bool>().Should().BeTrue();
        }
    }
}
