using LocallyMasked.Tests.Baseline;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training.Tests;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Baseline;

/// <summary>
/// The PixelCNN++ baseline through the code it shares with the Locally Masked PixelCNN++ (<see cref="IAutoregressiveImageModel"/>):
/// training, checkpoints, the authors' files through the one loader, averaging, evaluation and naive sampling.
/// </summary>
public sealed class BaselineIntegrationTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-baseline-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static PixelCnnPlusPlusConfig TinyBinary(int side = 8) => PixelCnnPlusPlusConfig.BinarizedMnist with
    {
        Height = side, Width = side, Filters = 6, ResidualBlocks = 1, Dropout = 0.1,
    };

    private static PixelCnnPlusPlusConfig TinyGrey(int side = 8) => PixelCnnPlusPlusConfig.GreyMnist with
    {
        Height = side, Width = side, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2,
    };

    private static Tensor GreyImages(PixelCnnPlusPlusConfig config, int count, long seed)
    {
        using var generator = new Generator((ulong)seed);
        return PixelLikelihood.Quantize(rand(new long[] { count, 1, config.Height, config.Width }, ScalarType.Float64, generator: generator) * 2 - 1, 8);
    }

    [Fact]
    public void The_abstraction_reports_one_raster_order_and_refuses_any_other_by_name()
    {
        using var scope = NewDisposeScope();
        var config = TinyGrey();
        manual_seed(1);
        using var baseline = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        baseline.eval();
        IAutoregressiveImageModel model = baseline;
        var raster = GenerationOrders.Raster(8, 8);
        model.Kind.Should().Be(ModelKind.PixelCnnPlusPlus);
        model.SupportedOrders.Should().Equal(raster);
        model.Configuration.Should().Be(config);
        model.SupportsOrder(raster).Should().BeTrue();
        model.SupportsOrder(GenerationOrders.SCurve(8, 8)).Should().BeFalse();

        var x = GreyImages(config, 3, 5);
        using var noGrad = no_grad();
        var logLikelihood = baseline.LogLikelihood(x).data<double>().ToArray();
        // Per-order likelihoods reduce to the raster one; the ensemble of one distribution is that distribution.
        var perOrder = model.PerOrderLogLikelihoods(x, new[] { raster, raster }, maxBatchSize: 2);
        perOrder.shape.Should().Equal(3, 2);
        // (In chunks of 2 images the sums may differ from the one-pass ones in the last bits.)
        perOrder.select(1, 0).allclose(tensor(logLikelihood), 1e-12, 0).Should().BeTrue();
        perOrder.select(1, 1).data<double>().ToArray().Should().Equal(perOrder.select(1, 0).data<double>().ToArray());
        model.EnsembleLogLikelihood(x, new[] { raster }).data<double>().ToArray().Should().Equal(logLikelihood);
        model.LogLikelihood(x, new[] { raster, raster, raster }).data<double>().ToArray().Should().Equal(logLikelihood);
        model.DistributionParameters(x, new[] { raster }).allclose(baseline.forward(x), 0, 0).Should().BeTrue();

        // The region is scored given the pixels before each of its pixels in raster order.
        var region = ImageRegion.Centre(8, 8);
        var perPixel = baseline.LogLikelihoodPerPixel(x).reshape(3, 64).data<double>().ToArray();
        var expected = Enumerable.Range(0, 3).Select(n => region.Pixels.Sum(p => perPixel[n * 64 + p])).ToArray();
        var regional = model.RegionLogLikelihood(x, region, new[] { raster }, maxBatchSize: 1).data<double>().ToArray();
        for (int n = 0; n < 3; n++) regional[n].Should().BeApproximately(expected[n], 1e-9);

        var hilbert = GenerationOrders.GeneralizedHilbert(8, 8);
        foreach (var call in new Action[]
        {
            () => model.PerOrderLogLikelihoods(x, new[] { raster, hilbert }),
            () => model.EnsembleLogLikelihood(x, new[] { hilbert }),
            () => model.RegionLogLikelihood(x, region, new[] { hilbert }),
            () => model.DistributionParameters(x, new[] { hilbert }),
            () => model.LogLikelihood(x, hilbert),
        })
        {
            call.Should().Throw<ArgumentException>().WithMessage("*raster order only*" + hilbert.ToString()[..24] + "*");
        }
        FluentActions.Invoking(() => model.PerOrderLogLikelihoods(x, new[] { raster, hilbert }))
            .Should().Throw<ArgumentException>().WithMessage("*order 1*");
    }

    [Fact]
    public void Training_a_tiny_baseline_lowers_its_test_likelihood()
    {
        manual_seed(11);
        var data = PixelCnnTrainingTests.Digits(8, 8);
        using var model = new PixelCnnPlusPlus(TinyBinary(), dtype: ScalarType.Float64);
        using var trainer = PixelCnnTraining.CreateTrainer(model, data, data,
            new TrainerOptions { BatchSize = 8, LearningRate = 0.01, Encoding = InputEncoding.DynamicBinarization });
        trainer.Orders.Should().Equal(GenerationOrders.Raster(8, 8));
        double before = trainer.EvaluateTest();
        trainer.Train(40);
        double after = trainer.EvaluateTest();
        after.Should().BeLessThan(before * 0.8, "40 Adam steps on the same 8 images must fit them");

        // The order set is the raster order: a trainer with another order is refused before anything runs.
        FluentActions.Invoking(() => PixelCnnTraining.CreateTrainer(model, new[] { GenerationOrders.SCurve(8, 8) }, data, null,
                new TrainerOptions { BatchSize = 8, Encoding = InputEncoding.DynamicBinarization }))
            .Should().Throw<ArgumentException>().WithMessage("*raster order only*");
    }

    [Fact]
    public void A_training_checkpoint_of_a_baseline_reloads_to_identical_likelihoods_and_averages_with_another()
    {
        manual_seed(5);
        var data = PixelCnnTrainingTests.Digits(8, 8);
        using var model = new PixelCnnPlusPlus(TinyBinary(), dtype: ScalarType.Float32);
        using var trainer = PixelCnnTraining.CreateTrainer(model, data, null,
            new TrainerOptions { BatchSize = 4, LearningRate = 0.01, EmaDecay = 0.5, Encoding = InputEncoding.DynamicBinarization });
        string a = Path.Combine(dir, "a.ckpt"), b = Path.Combine(dir, "b.ckpt");
        trainer.Train(1);
        trainer.Save(a);
        var first = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        trainer.Train(3);
        trainer.Save(b);
        CheckpointMetadata.Read(b).ModelType.Should().Be(typeof(PixelCnnPlusPlus).FullName);

        using var x = Trainer.EncodeFixed(data, Enumerable.Range(0, 8).ToArray(), InputEncoding.DynamicBinarization, CPU, ScalarType.Float32);
        model.eval();
        using (var file = PixelCnnCheckpoint.LoadModel(b))
        {
            file.Kind.Should().Be(ModelKind.PixelCnnPlusPlus);
            file.Format.Should().Be(CheckpointFormat.Training);
            file.Orders.Should().Equal(GenerationOrders.Raster(8, 8));
            var loaded = file.PixelCnnPlusPlus;
            loaded.Config.Should().Be(model.Config);
            loaded.training.Should().BeFalse();
            FluentActions.Invoking(() => file.LocallyMaskedPixelCnn).Should().Throw<InvalidOperationException>().WithMessage("*PixelCNN++ baseline*");
            using var noGrad = no_grad();
            loaded.LogLikelihood(x).data<float>().ToArray().Should().Equal(model.LogLikelihood(x).data<float>().ToArray());
        }
        using (var averaged = PixelCnnCheckpoint.LoadModel(b, new ModelLoadOptions { MovingAverageWeights = true, DType = ScalarType.Float64 }))
        {
            averaged.UsedAverage.Should().BeTrue();
            averaged.Model.DType.Should().Be(ScalarType.Float64);
            foreach (var (name, value) in trainer.Average!.Tensors)
                averaged.Model.Module.state_dict()[name].to(ScalarType.Float32).allclose(value, 0, 0).Should().BeTrue(name);
        }

        using var averageOfFiles = PixelCnnCheckpoint.LoadAverage(new[] { a, b });
        averageOfFiles.Kind.Should().Be(ModelKind.PixelCnnPlusPlus);
        var mean = averageOfFiles.PixelCnnPlusPlus;
        foreach (var (name, value) in model.state_dict())
        {
            using var expected = (first[name] + value) / 2;
            mean.state_dict()[name].allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue(name);
        }
        foreach (var t in first.Values) t.Dispose();

        // A baseline and a Locally Masked PixelCNN++ are not one model.
        using var lmconv = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary(8));
        using (var other = PixelCnnTraining.CreateTrainer(lmconv, new[] { GenerationOrders.SCurve(8, 8) }, data, null,
                   new TrainerOptions { BatchSize = 4, Encoding = InputEncoding.DynamicBinarization }))
            other.Save(Path.Combine(dir, "lmconv.ckpt"));
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadAverage(new[] { a, Path.Combine(dir, "lmconv.ckpt") }))
            .Should().Throw<InvalidDataException>().WithMessage("*different model*");
    }

    public static TheoryData<string, string> AuthorsFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in BaselineFixtures.ModelNames)
            foreach (var format in BaselineFixtures.Model(name).GetProperty("files").EnumerateObject())
                data.Add(name, format.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(AuthorsFiles))]
    public void The_authors_baseline_files_load_through_LoadModel_with_their_likelihoods(string name, string format)
    {
        using var scope = NewDisposeScope();
        var fixture = BaselineFixtures.Model(name);
        var expectedConfig = BaselineFixtures.Config(name);
        // A binary head has no mixtures and no bit depth: the file cannot tell the (unused) mixture count, which is then the
        // default's, and its args record main.py's n_bits default, 8.
        if (expectedConfig.Likelihood == LikelihoodKind.Binary)
            expectedConfig = expectedConfig with { MixtureComponents = new PixelCnnPlusPlusConfig().MixtureComponents, Bits = 8 };
        var path = BaselineFixtures.Path(fixture.GetProperty("files").GetProperty(format).GetString()!);

        // Nothing but the file: their args (dataset, n_bits, nr_filters, ...) decide the model, at the data set's size.
        using (var plain = PixelCnnCheckpoint.LoadModel(path))
        {
            plain.Kind.Should().Be(ModelKind.PixelCnnPlusPlus);
            plain.Notes.Should().BeEmpty();
            int size = name switch { "rgb8" => 32, "rgb5" => 256, _ => 28 };   // cifar, celebahq (celeba_size default), mnist
            plain.PixelCnnPlusPlus.Config.Should().Be(expectedConfig with { Height = size, Width = size });
            plain.Orders.Should().Equal(GenerationOrders.Raster(size, size));
        }

        // The fixtures' images are 8x8: the same weights at that size, reported as an override of the args' size.
        using var loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { DType = ScalarType.Float64, ImageSize = (8, 8) });
        loaded.Format.Should().Be(CheckpointFormat.PyTorch);
        loaded.Notes.Should().ContainSingle().Which.Should().Match<ConfigurationNote>(n => n.Setting == "ImageSize" && n.Value == "8x8" && n.IsOverride);
        loaded.PixelCnnPlusPlus.Config.Should().Be(expectedConfig);
        loaded.Orders.Should().Equal(GenerationOrders.Raster(8, 8));
        loaded.Model.Module.training.Should().BeFalse();

        var images = fixture.GetProperty("images").EnumerateArray().ToArray();
        var x = tensor(images.SelectMany(i => BaselineFixtures.Doubles(i.GetProperty("values"))).ToArray(), dtype: ScalarType.Float64)
            .reshape(images.Length, expectedConfig.ImageChannels, 8, 8);
        var expected = images.Select(i => i.GetProperty("log_likelihood").GetDouble()).ToArray();
        using var noGrad = no_grad();
        // Through the shared API: per-order (one order) likelihoods, as the evaluation code reads them.
        var actual = loaded.Model.PerOrderLogLikelihoods(x, loaded.Orders!).data<double>().ToArray();
        for (int i = 0; i < expected.Length; i++)
            (Math.Abs(actual[i] - expected[i]) / Math.Abs(expected[i])).Should().BeLessThan(1e-5, $"image {i}: ours {actual[i]:R}, theirs {expected[i]:R}");

        // Their baseline has no normalization or dilation settings: asking for them is refused before anything is built.
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { Normalization = LocallyMasked.Layers.FeatureNormalization.Pono }))
            .Should().Throw<CheckpointException>().WithMessage("*PixelCNN++ baseline*normalization*");
    }

    [Fact]
    public void Bare_state_dicts_and_TorchSharp_files_of_a_baseline_load_with_the_shapes_deciding()
    {
        var config = TinyGrey() with { MixtureComponents = 3, Filters = 5, ResidualBlocks = 2 };
        manual_seed(8);
        using var original = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        original.eval();
        var x = GreyImages(config, 2, 9);
        using var noGrad = no_grad();
        var expected = original.LogLikelihood(x).data<double>().ToArray();
        var template = PixelCnnConfig.GreyMnist with { Height = 8, Width = 8 };
        string bare = Path.Combine(dir, "pixel-cnn-pp.pth"), weights = Path.Combine(dir, "weights.bin");
        // pclucas14/pixel-cnn-pp saves torch.save(model.state_dict()): a bare state dict with the same keys.
        PixelCnnCheckpoint.SavePyTorch(original, bare, fullCheckpoint: false);
        PixelCnnCheckpoint.Save(original, weights);
        foreach (var path in new[] { bare, weights })
        {
            using var loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { Template = template, DType = ScalarType.Float64 });
            loaded.Kind.Should().Be(ModelKind.PixelCnnPlusPlus, path);
            loaded.PixelCnnPlusPlus.Config.Should().Be(config, path);
            loaded.Notes.Should().BeEmpty("the image size comes from the caller's template");
            loaded.Model.LogLikelihood(x, loaded.Orders![0]).data<double>().ToArray().Should().Equal(expected);
        }
        // Without a template a one-channel file is MNIST-sized.
        using (var mnistSized = PixelCnnCheckpoint.LoadModel(bare))
            (mnistSized.Model.Configuration.Height, mnistSized.Model.Configuration.Width).Should().Be((28, 28));
        // A training checkpoint's size is fixed.
        manual_seed(2);
        var data = PixelCnnTrainingTests.Digits(4, 8);
        using var binary = new PixelCnnPlusPlus(TinyBinary());
        using (var trainer = PixelCnnTraining.CreateTrainer(binary, data, null, new TrainerOptions { BatchSize = 4, Encoding = InputEncoding.DynamicBinarization }))
            trainer.Save(Path.Combine(dir, "t.ckpt"));
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(Path.Combine(dir, "t.ckpt"), new ModelLoadOptions { ImageSize = (12, 12) }))
            .Should().Throw<ArgumentException>().WithMessage("*weight files only*");
    }

    [Fact]
    public void Args_that_contradict_the_tensors_are_refused_with_each_disagreement_named()
    {
        var config = TinyGrey();
        manual_seed(6);
        using var baseline = new PixelCnnPlusPlus(config);
        using var lmconv = new LocallyMaskedPixelCnn(PixelCnnConfig.GreyMnist with { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2 });
        string Write(string name, IAutoregressiveImageModel model, System.Collections.Hashtable args)
        {
            var weights = new System.Collections.Hashtable();
            foreach (var (key, value) in model.Module.state_dict()) weights[key] = value.detach().clone();
            string path = Path.Combine(dir, name);
            TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, new System.Collections.Hashtable { ["model_state_dict"] = weights, ["args"] = args });
            return path;
        }

        var oursTrue = Write("ours.pth", baseline, new System.Collections.Hashtable { ["ours"] = true });
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(oursTrue)).Should().Throw<CheckpointException>()
            .WithMessage("*ours.pth*args['ours'] is True*PixelCNN++ baseline's*");
        var oursFalse = Write("theirs.pth", lmconv, new System.Collections.Hashtable { ["ours"] = false });
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(oursFalse)).Should().Throw<CheckpointException>()
            .WithMessage("*theirs.pth*args['ours'] is False*Locally Masked PixelCNN++'s*");
        var wrong = Write("wrong.pth", baseline, new System.Collections.Hashtable
        {
            ["ours"] = false, ["dataset"] = "cifar", ["nr_filters"] = 160, ["nr_resnet"] = 1, ["nr_logistic_mix"] = 10,
        });
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(wrong)).Should().Throw<CheckpointException>()
            .WithMessage("*wrong.pth*image channels (dataset): args say 3, the tensors 1*nr_filters: args say 160, the tensors 4*nr_logistic_mix: args say 10, the tensors 2*");
        // Their main.py's arguments for a grey MNIST baseline load it at 28x28 with 8 bits; the LMConv-only ones are ignored.
        var right = Write("right.pth", baseline, new System.Collections.Hashtable
        {
            ["ours"] = false, ["dataset"] = "mnist", ["binarize"] = false, ["n_bits"] = 8, ["nr_filters"] = 4, ["nr_resnet"] = 1,
            ["nr_logistic_mix"] = 2, ["normalization"] = "pono", ["kernel_size"] = 5, ["max_dilation"] = 2, ["dropout_prob"] = 0.0,
        });
        using var loaded = PixelCnnCheckpoint.LoadModel(right);
        loaded.PixelCnnPlusPlus.Config.Should().Be(config with { Height = 28, Width = 28 });
        loaded.Notes.Should().BeEmpty();
    }

    [Fact]
    public void Evaluation_of_a_baseline_reports_its_raster_order_whose_likelihood_is_the_ensembles()
    {
        manual_seed(3);
        var data = PixelCnnTrainingTests.Digits(5, 8);
        using var model = new PixelCnnPlusPlus(TinyBinary(), dtype: ScalarType.Float64);
        var raster = new[] { GenerationOrders.Raster(8, 8) };
        var report = LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, raster, batchSize: 2);
        using var x = Trainer.EncodeFixed(data, Enumerable.Range(0, 5).ToArray(), InputEncoding.DynamicBinarization, CPU, ScalarType.Float64);
        model.eval();
        using var noGrad = no_grad();
        double mean = -model.LogLikelihood(x).data<double>().Average();
        report.PerOrder.Should().ContainSingle().Which.Should().BeApproximately(mean, 1e-9);
        report.Ensemble.Should().BeApproximately(mean, 1e-9);
        FluentActions.Invoking(() => LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, new[] { GenerationOrders.ZigZag(8, 8) }))
            .Should().Throw<ArgumentException>().WithMessage("*raster order only*");
    }

    [Fact]
    public void Naive_sampling_of_a_baseline_is_reproducible_and_draws_each_pixel_from_its_raster_conditional()
    {
        using var scope = NewDisposeScope();
        var config = TinyGrey();
        manual_seed(21);
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        var sampler = new NaiveSampler(model);
        var raster = GenerationOrders.Raster(8, 8);
        var observed = new List<Tensor>();
        var images = sampler.Sample(raster, 2, new SamplingOptions { Seed = 4, StepObserver = (_, p) => observed.Add(p.clone().DetachFromDisposeScope()) });
        sampler.Sample(raster, 2, new SamplingOptions { Seed = 4 }).allclose(images, 0, 0).Should().BeTrue("the same seed gives the same images");
        sampler.Sample(raster, 2, new SamplingOptions { Seed = 5 }).allclose(images, 0, 0).Should().BeFalse();
        model.training.Should().BeTrue("the sampler puts the model's mode back");

        // Pixel p was drawn from the parameters the finished image gives it: they depend on the pixels before p only
        // (the pixels after p were still empty when p was drawn).
        observed.Should().HaveCount(64);
        model.eval();
        using var noGrad = no_grad();
        var final = model.forward(images).reshape(2, config.ParameterChannels, 64);
        for (int p = 0; p < 64; p++) observed[p].allclose(final.select(2, p), 1e-12, 1e-12).Should().BeTrue($"pixel {p}");
        foreach (var t in observed) t.Dispose();

        // Completion of the centre in raster order: it sees the pixels before each region pixel, never those after the region.
        var region = ImageRegion.Centre(8, 8);
        int last = region.Pixels.Max();
        var later = images.clone();
        later.reshape(2, 1, 64).narrow(2, last + 1, 63 - last).fill_(-1.0);
        var completed = sampler.Complete(images, region, raster, new SamplingOptions { Seed = 9 });
        sampler.Complete(later, region, raster, new SamplingOptions { Seed = 9 }).reshape(2, 64).index_select(1, tensor(region.Pixels.Select(p => (long)p).ToArray()))
            .allclose(completed.reshape(2, 64).index_select(1, tensor(region.Pixels.Select(p => (long)p).ToArray())), 0, 0)
            .Should().BeTrue("pixels after the region do not reach it");
        var earlier = images.clone();
        earlier.reshape(2, 1, 64).narrow(2, 0, region.Pixels.Min()).fill_(1.0);
        sampler.Complete(earlier, region, raster, new SamplingOptions { Seed = 9 }).allclose(completed, 0, 0)
            .Should().BeFalse("pixels before the region condition it");

        // Other orders and the cached sampler are refused with a message.
        FluentActions.Invoking(() => sampler.Sample(GenerationOrders.SCurve(8, 8), 1)).Should().Throw<ArgumentException>().WithMessage("*raster order only*");
        FluentActions.Invoking(() => sampler.Complete(images, region, raster.WithRegionLast(region.Pixels)))
            .Should().Throw<ArgumentException>().WithMessage("*raster order only*");
        FluentActions.Invoking(() => ImageSampler.Create(SamplerKind.Cached, model)).Should().Throw<ArgumentException>().WithMessage("*cached sampler*LocallyMaskedPixelCnn*");
        ImageSampler.Create(SamplerKind.Naive, model).Should().BeOfType<NaiveSampler>();
    }
}
