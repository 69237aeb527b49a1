using System.Collections;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Tests.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using LocallyMasked.Layers;

namespace LocallyMasked.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lm-checkpoints-" + Guid.NewGuid().ToString("N"));

    public CheckpointTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    /// <summary>Writes the model's weights like the authors' files: {model_state_dict: {module.*: float32}, epoch, ...}.</summary>
    private static void WriteAuthorsStyleCheckpoint(LocallyMaskedPixelCnn model, string path, bool dataParallel, bool full)
    {
        var weights = new Hashtable();
        foreach (var (key, value) in model.state_dict())
            weights[(dataParallel ? "module." : "") + key] = value.detach().to(ScalarType.Float32).cpu();
        IDictionary root = weights;
        if (full)
        {
            root = new Hashtable
            {
                ["model_state_dict"] = weights,
                ["epoch"] = 159,
                ["global_step"] = 123456L,
                ["test_loss"] = 2.887,
                ["optimizer_state_dict"] = new Hashtable { ["state"] = new Hashtable(), ["param_groups"] = new ArrayList() },
            };
        }
        PyTorchPickler.PickleStateDict(path, root);
    }

    private static Tensor Outputs(LocallyMaskedPixelCnn model, Tensor x) =>
        model.forward(x, model.MasksFor(GenerationOrders.SCurve(model.Config.Height, model.Config.Width)));

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void A_pytorch_checkpoint_with_published_names_reproduces_the_original_outputs(bool full, bool dataParallel)
    {
        var config = TinyModels.Rgb(6);
        using var original = TinyModels.Create(config, seed: 1);
        original.to(ScalarType.Float32);
        var path = PathOf("authors.pth");
        WriteAuthorsStyleCheckpoint(original, path, dataParallel, full);

        using var loaded = new LocallyMaskedPixelCnn(config with { }, dtype: ScalarType.Float32);
        var x = TinyModels.Images(config, 2).to(ScalarType.Float32);
        Outputs(loaded, x).equal(Outputs(original, x)).all().item<bool>().Should().BeFalse();

        PixelCnnCheckpoint.IsPyTorchFile(path).Should().BeTrue();
        PixelCnnCheckpoint.Load(loaded, path);
        Outputs(loaded, x).equal(Outputs(original, x)).all().item<bool>().Should().BeTrue();
        loaded.parameters().Should().OnlyContain(p => p.requires_grad);
    }

    [Fact]
    public void A_bare_state_dict_saved_by_pybridge_loads_and_a_float32_file_fills_a_float64_model()
    {
        var config = TinyModels.Grey(6);
        using var original = TinyModels.Create(config, seed: 2);
        var path = PathOf("bare.pth");
        original.save_py(path);
        using var loaded = TinyModels.Create(config, seed: 3);
        PixelCnnCheckpoint.Load(loaded, path);
        var x = TinyModels.Images(config, 2);
        Outputs(loaded, x).equal(Outputs(original, x)).all().item<bool>().Should().BeTrue();

        // The authors' float32 weights into a float64 model: values are converted exactly.
        using var single = TinyModels.Create(config, seed: 4);
        single.to(ScalarType.Float32);
        var path32 = PathOf("single.pth");
        WriteAuthorsStyleCheckpoint(single, path32, dataParallel: true, full: true);
        using var doubled = TinyModels.Create(config, seed: 5);
        PixelCnnCheckpoint.Load(doubled, path32);
        doubled.state_dict()["u_init.weight"].allclose(single.state_dict()["u_init.weight"].to(ScalarType.Float64), 0, 0).Should().BeTrue();
    }

    [Fact]
    public void Our_pytorch_writer_round_trips_through_the_reader()
    {
        var config = TinyModels.Binary(6);
        using var original = TinyModels.Create(config, seed: 6);
        var path = PathOf("ours.pth");
        PixelCnnCheckpoint.SavePyTorch(original, path);
        var sd = PixelCnnCheckpoint.ReadPyTorchStateDict(path);
        sd.Keys.Should().BeEquivalentTo(original.state_dict().Keys);
        using var file = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { Template = config, DType = ScalarType.Float64 });
        var loaded = file.LocallyMaskedPixelCnn;
        file.Format.Should().Be(path.EndsWith(".pth", StringComparison.Ordinal) ? CheckpointFormat.PyTorch : CheckpointFormat.TorchSharp);
        loaded.Config.Should().Be(config);
        var x = TinyModels.Images(config, 2);
        Outputs(loaded, x).equal(Outputs(original, x)).all().item<bool>().Should().BeTrue();
        // Without a template a one-channel model is taken to be MNIST-sized.
        var inferred = CheckpointConfigInference.Infer(sd);
        (inferred.Height, inferred.Width, inferred.Likelihood, inferred.Filters).Should().Be((28, 28, LikelihoodKind.Binary, 8));
    }

    [Fact]
    public void TorchSharp_format_round_trips_and_loading_infers_the_config()
    {
        var config = TinyModels.Grey(6) with { Normalization = FeatureNormalization.WeightNorm, LearnWeightForMasks = true, MixtureComponents = 3 };
        using var original = TinyModels.Create(config, seed: 7);
        var path = PathOf("model.bin");
        PixelCnnCheckpoint.Save(original, path);
        PixelCnnCheckpoint.IsPyTorchFile(path).Should().BeFalse();
        using var file = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { Template = config, DType = ScalarType.Float64 });
        var loaded = file.LocallyMaskedPixelCnn;
        file.Format.Should().Be(path.EndsWith(".pth", StringComparison.Ordinal) ? CheckpointFormat.PyTorch : CheckpointFormat.TorchSharp);
        loaded.Config.Should().Be(config);
        var x = TinyModels.Images(config, 2);
        Outputs(loaded, x).equal(Outputs(original, x)).all().item<bool>().Should().BeTrue();
        loaded.parameters().Should().OnlyContain(p => p.requires_grad);
        Directory.GetFiles(_directory).Should().ContainSingle();
    }

    [Fact]
    public void Config_inference_reads_every_shape_determined_field()
    {
        var rgb = TinyModels.Rgb(6) with { ResidualBlocks = 2, MixtureComponents = 4, ConvolutionBias = false };
        using (var model = TinyModels.Create(rgb))
        {
            var inferred = CheckpointConfigInference.Infer(model.state_dict());
            inferred.Should().Be(rgb with { Height = 32, Width = 32 });
            CheckpointConfigInference.Infer(model.state_dict(), rgb).Should().Be(rgb);
        }
        var grey = TinyModels.Grey(6) with { Normalization = FeatureNormalization.None };
        using (var model = TinyModels.Create(grey))
        {
            CheckpointConfigInference.Infer(model.state_dict(), grey).Should().Be(grey);
            CheckpointConfigInference.Infer(model.state_dict()).Should().Be(grey with { Height = 28, Width = 28, Normalization = FeatureNormalization.Pono });
        }
        var prefixed = new Dictionary<string, Tensor> { ["module.u_init.weight"] = zeros(4, 2, 3, 3) };
        Action act = () => CheckpointConfigInference.Infer(prefixed);
        act.Should().Throw<CheckpointException>().WithMessage("*nin_out.lin_a.weight_v*");
    }

    [Fact]
    public void Missing_unexpected_and_mis_shaped_keys_are_all_listed()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var sd = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        sd.Remove("up_layers.1.u_stream.0.conv_out.bias");
        sd["up_layers.9.u_stream.0.conv_out.bias"] = zeros(16);
        sd["nin_out.lin_a.weight_v"] = zeros(5, 8);
        var path = PathOf("broken.pth");
        PyTorchPickler.PickleStateDict(path, new Hashtable { ["model_state_dict"] = new Hashtable(sd) });

        using var target = TinyModels.Create(config, seed: 9);
        var before = target.state_dict()["u_init.weight"].clone();
        Action act = () => PixelCnnCheckpoint.Load(target, path);
        var error = act.Should().Throw<CheckpointException>().Which;
        error.MissingKeys.Should().Equal("up_layers.1.u_stream.0.conv_out.bias");
        error.UnexpectedKeys.Should().Equal("up_layers.9.u_stream.0.conv_out.bias");
        error.MismatchedShapes.Should().ContainSingle().Which.Should().Contain("nin_out.lin_a.weight_v").And.Contain("(5, 8)").And.Contain("(6, 8)");
        error.Message.Should().Contain("up_layers.1.u_stream.0.conv_out.bias").And.Contain("up_layers.9.u_stream.0.conv_out.bias");
        // Nothing was copied.
        target.state_dict()["u_init.weight"].equal(before).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Truncated_and_foreign_files_give_clear_exceptions()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var pth = PathOf("good.pth");
        PixelCnnCheckpoint.SavePyTorch(model, pth);
        var bytes = File.ReadAllBytes(pth);
        var truncated = PathOf("truncated.pth");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Action act = () => PixelCnnCheckpoint.Load(model, truncated);
        act.Should().Throw<CheckpointException>().WithMessage("*PyTorch checkpoint*");

        var bin = PathOf("good.bin");
        PixelCnnCheckpoint.Save(model, bin);
        var binBytes = File.ReadAllBytes(bin);
        var truncatedBin = PathOf("truncated.bin");
        File.WriteAllBytes(truncatedBin, binBytes[..(binBytes.Length - 100)]);
        act = () => PixelCnnCheckpoint.Load(model, truncatedBin);
        act.Should().Throw<CheckpointException>().WithMessage("*TorchSharp state dict*");

        var text = PathOf("notes.txt");
        File.WriteAllText(text, "not a checkpoint");
        act = () => PixelCnnCheckpoint.Load(model, text);
        act.Should().Throw<CheckpointException>();

        var other = PathOf("other.pth");
        PyTorchPickler.PickleStateDict(other, new Hashtable { ["epoch"] = 3, ["args"] = "x" });
        act = () => PixelCnnCheckpoint.Load(model, other);
        act.Should().Throw<CheckpointException>().WithMessage("*model_state_dict*");

        act = () => PixelCnnCheckpoint.Load(model, PathOf("absent.pth"));
        act.Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_file_intact()
    {
        var path = PathOf("model.bin");
        File.WriteAllText(path, "previous");
        Action act = () => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[] { 1, 2, 3 });
            throw new IOException("disk full");
        });
        act.Should().Throw<IOException>().WithMessage("disk full");
        File.ReadAllText(path).Should().Be("previous");
        Directory.GetFiles(_directory).Should().ContainSingle();

        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        PixelCnnCheckpoint.Save(model, path);
        PixelCnnCheckpoint.ReadTorchSharpStateDict(path).Keys.Should().BeEquivalentTo(model.state_dict().Keys);
    }

    [Fact]
    public void Loaded_weights_train()
    {
        var config = TinyModels.Grey(6);
        using var original = TinyModels.Create(config, seed: 1);
        var path = PathOf("train.pth");
        WriteAuthorsStyleCheckpoint(original, path, dataParallel: true, full: true);
        using var model = TinyModels.Create(config, seed: 2);
        PixelCnnCheckpoint.Load(model, path);
        var x = TinyModels.Images(config, 2);
        var order = GenerationOrders.Raster(6, 6);
        var optimizer = optim.Adam(model.parameters(), 1e-2);
        double first = 0, last = 0;
        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = -model.LogLikelihood(x, order).mean();
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<double>();
            last = loss.item<double>();
        }
        last.Should().BeLessThan(first);
    }
}
