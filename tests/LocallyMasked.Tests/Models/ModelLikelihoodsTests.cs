using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

/// <summary>
/// The likelihood code both models share (<see cref="ModelLikelihoods"/>): every likelihood follows from the distribution
/// parameters and the head, for either model; repeated orders are evaluated once; a region is scored region-last only by
/// a model that takes any order; chunks give the numbers of one pass; state dicts are checked the same way for both.
/// </summary>
public class ModelLikelihoodsTests
{
    public static TheoryData<ModelKind> Kinds()
    {
        var data = new TheoryData<ModelKind>();
        foreach (var kind in Enum.GetValues<ModelKind>()) data.Add(kind);
        return data;
    }

    /// <summary>A tiny float64 grey model of the kind (8x8 images), in evaluation mode.</summary>
    private static IAutoregressiveImageModel Tiny(ModelKind kind, int seed)
    {
        IImageModelConfig config = kind == ModelKind.PixelCnnPlusPlus
            ? PixelCnnPlusPlusConfig.GreyMnist with { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2 }
            : TinyModels.Grey(8) with { Filters = 4 };
        manual_seed(seed);
        var model = ModelCatalog.Create(config, dtype: ScalarType.Float64);
        model.Module.eval();
        return model;
    }

    private static Tensor Images(int count, int seed) => TinyModels.Images(TinyModels.Grey(8), count, seed);

    /// <summary>Orders the model can use: two different ones for a model that takes any order, its only order twice otherwise.</summary>
    private static GenerationOrder[] TwoOrders(IAutoregressiveImageModel model) =>
        model.SupportedOrders is { } only ? new[] { only[0], only[0] } : new[] { GenerationOrders.SCurve(8, 8), GenerationOrders.ZigZag(8, 8) };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_likelihood_follows_from_the_distribution_parameters_and_the_head(ModelKind kind)
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(kind, seed: 1);
        var x = Images(3, seed: 2);
        var order = TwoOrders(model)[0];
        var expectedPerPixel = model.Likelihood.LogProbability(x, model.DistributionParameters(x, new[] { order }));

        model.LogLikelihoodPerPixel(x, order).Equals(expectedPerPixel).Should().BeTrue("the per-pixel likelihood is the head on the parameters");
        model.LogLikelihood(x, order).Equals(expectedPerPixel.sum(new long[] { 1, 2 })).Should().BeTrue();

        var perImage = new[] { TwoOrders(model)[1], order, TwoOrders(model)[1] };
        var actual = model.LogLikelihood(x, perImage).data<double>().ToArray();
        for (int n = 0; n < 3; n++)
            actual[n].Should().BeApproximately(model.LogLikelihood(x.narrow(0, n, 1), perImage[n]).item<double>(), 1e-10);

        model.Invoking(m => m.LogLikelihood(x, new[] { order, order })).Should().Throw<ArgumentException>()
            .WithMessage("Expected one order per image: 3 images, 2 orders.*").And.ParamName.Should().Be("orders");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Per_order_likelihoods_in_chunks_equal_one_pass_and_each_order_alone(ModelKind kind)
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(kind, seed: 3);
        var x = Images(3, seed: 4);
        var orders = TwoOrders(model);
        var alone = orders.Select(o => model.LogLikelihood(x, o).data<double>().ToArray()).ToArray();
        foreach (int? batch in new int?[] { null, 1, 2, 5 })
        {
            var perOrder = model.PerOrderLogLikelihoods(x, orders, batch);
            perOrder.shape.Should().Equal(3, 2);
            for (int k = 0; k < 2; k++)
                for (int n = 0; n < 3; n++)
                    perOrder[n, k].item<double>().Should().BeApproximately(alone[k][n], 1e-10, $"batch {batch}, order {k}, image {n}");
        }
    }

    [Fact]
    public void Repeated_orders_are_evaluated_once_and_a_mixture_of_one_order_is_that_order()
    {
        using var scope = NewDisposeScope();
        using var inner = (LocallyMaskedPixelCnn)Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 5);
        var model = new ObservedModel(inner, null);
        var x = Images(2, seed: 6);
        var a = GenerationOrders.SCurve(8, 8);
        var b = GenerationOrders.Raster(8, 8);

        var perOrder = ModelLikelihoods.PerOrder(model, x, new[] { a, b, a, a });
        model.ImagesEvaluated.Should().Be(2 * 2, "two distinct orders for two images");
        perOrder.shape.Should().Equal(2, 4);
        perOrder.select(1, 2).Equals(perOrder.select(1, 0)).Should().BeTrue();
        perOrder.select(1, 3).Equals(perOrder.select(1, 0)).Should().BeTrue();
        for (int n = 0; n < 2; n++)
        {
            perOrder[n, 0].item<double>().Should().BeApproximately(inner.LogLikelihood(x, a)[n].item<double>(), 1e-10);
            perOrder[n, 1].item<double>().Should().BeApproximately(inner.LogLikelihood(x, b)[n].item<double>(), 1e-10);
        }

        // The ensemble of one order, however often repeated, is that order's likelihood, bit for bit.
        var once = ModelLikelihoods.PerOrder(model, x, new[] { a }).select(1, 0);
        ModelLikelihoods.Ensemble(model, x, new[] { a, a, a }).Equals(once).Should().BeTrue();
        // A repeated order weighs as often as it is listed: [a, b, a] is the mixture 2/3 a + 1/3 b.
        var mixed = ModelLikelihoods.Ensemble(model, x, new[] { a, b, a }).data<double>().ToArray();
        for (int n = 0; n < 2; n++)
        {
            double la = perOrder[n, 0].item<double>(), lb = perOrder[n, 1].item<double>();
            double m = Math.Max(la, lb);
            mixed[n].Should().BeApproximately(m + Math.Log((2 * Math.Exp(la - m) + Math.Exp(lb - m)) / 3), 1e-10);
        }
    }

    [Fact]
    public void A_region_is_scored_last_by_a_model_that_takes_any_order_and_in_the_given_order_by_a_restricted_one()
    {
        using var scope = NewDisposeScope();
        using var inner = (LocallyMaskedPixelCnn)Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 7);
        var x = Images(2, seed: 8);
        var raster = GenerationOrders.Raster(8, 8);
        var region = ImageRegion.TopHalf(8, 8);

        double[] RegionSum(GenerationOrder order)
        {
            var perPixel = inner.LogLikelihoodPerPixel(x, order).reshape(2, 64).data<double>().ToArray();
            return Enumerable.Range(0, 2).Select(n => region.Pixels.Sum(p => perPixel[n * 64 + p])).ToArray();
        }

        var anyOrder = ModelLikelihoods.Region(new ObservedModel(inner, null), x, region, new[] { raster }).data<double>().ToArray();
        var rasterOnly = ModelLikelihoods.Region(new ObservedModel(inner, new[] { raster }), x, region, new[] { raster }).data<double>().ToArray();
        var last = RegionSum(raster.WithRegionLast(region.Pixels));
        var given = RegionSum(raster);
        for (int n = 0; n < 2; n++)
        {
            anyOrder[n].Should().BeApproximately(last[n], 1e-10);
            rasterOnly[n].Should().BeApproximately(given[n], 1e-10);
        }
        anyOrder.Should().NotEqual(rasterOnly, "the top half given the bottom half differs from the top half alone");

        var weights = ModelLikelihoods.RegionWeights(region, ScalarType.Float64, CPU).reshape(64).data<double>().ToArray();
        weights.Select((w, p) => (w, p)).Should().OnlyContain(t => t.w == (region.Pixels.Contains(t.p) ? 1.0 : 0.0));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_state_dict_is_checked_whole_and_copied_the_same_way_for_either_model(ModelKind kind)
    {
        using var scope = NewDisposeScope();
        using var target = Tiny(kind, seed: 9);
        using var source = Tiny(kind, seed: 10);
        var x = Images(2, seed: 11);
        var order = TwoOrders(target)[0];
        var before = target.LogLikelihood(x, order).clone();
        var stateDict = source.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var (first, second) = (stateDict.Keys.Order(StringComparer.Ordinal).First(), stateDict.Keys.Order(StringComparer.Ordinal).Last());
        var broken = new Dictionary<string, Tensor>(stateDict);
        broken.Remove(first);
        broken["extra.weight"] = zeros(1);
        broken[second] = zeros(7, 7, dtype: ScalarType.Float64);

        var fit = StateDictFit.Of(target.Module, broken);
        fit.Fits.Should().BeFalse();
        fit.Missing.Should().Equal(first);
        fit.Unexpected.Should().Equal("extra.weight");
        fit.MisShaped.Select(m => m.Key).Should().Equal(second);
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadStateDict(target, broken)).Should().Throw<CheckpointException>()
            .Which.MissingKeys.Should().Equal(first);
        target.LogLikelihood(x, order).Equals(before).Should().BeTrue("nothing is copied from a dict that does not fit");

        var integer = new Dictionary<string, Tensor>(stateDict) { [first] = stateDict[first].to(ScalarType.Int64) };
        StateDictFit.Of(target.Module, integer).NotFloatingPoint.Select(n => n.Key).Should().Equal(first);
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadStateDict(target, integer)).Should().Throw<CheckpointException>().WithMessage($"*'{first}'*Int64*");

        // With the data-parallel prefix and in float32, the weights load converted, and the model computes the source's likelihood.
        PixelCnnCheckpoint.LoadStateDict(target, stateDict.ToDictionary(kv => "module." + kv.Key, kv => kv.Value.to(ScalarType.Float32).to(ScalarType.Float64)));
        target.LogLikelihood(x, order).allclose(source.LogLikelihood(x, order), rtol: 1e-5, atol: 1e-5).Should().BeTrue();
        PixelCnnCheckpoint.LoadStateDict(target, stateDict);
        target.LogLikelihood(x, order).Equals(source.LogLikelihood(x, order)).Should().BeTrue();
    }

    [Fact]
    public void A_locally_masked_model_follows_weight_loads_and_its_own_dtype_change_without_being_told()
    {
        using var scope = NewDisposeScope();
        using var target = (LocallyMaskedPixelCnn)Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 12);
        using var source = (LocallyMaskedPixelCnn)Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 13);
        var x = Images(2, seed: 14);
        var order = GenerationOrders.SCurve(8, 8);
        target.LogLikelihood(x, order);   // fills the mask cache in float64
        PixelCnnCheckpoint.LoadStateDict(target, source.state_dict());
        target.LogLikelihood(x, order).Equals(source.LogLikelihood(x, order)).Should().BeTrue();

        target.to(ScalarType.Float32);
        source.to(ScalarType.Float32);
        var x32 = x.to(ScalarType.Float32);
        target.MasksFor(order).DType.Should().Be(ScalarType.Float32, "the cached masks follow the model's dtype");
        target.LogLikelihood(x32, order).Equals(source.LogLikelihood(x32, order)).Should().BeTrue();
    }

    /// <summary>
    /// A model seen through the shared code: its parameters from a Locally Masked PixelCNN++, its supported orders as
    /// given (null: any), and a count of the images whose parameters were computed.
    /// </summary>
    private sealed class ObservedModel(LocallyMaskedPixelCnn inner, IReadOnlyList<GenerationOrder>? supported) : IAutoregressiveImageModel
    {
        public long ImagesEvaluated { get; private set; }

        public ModelKind Kind => inner.Kind;
        public nn.Module Module => inner;
        public IImageModelConfig Configuration => inner.Config;
        public PixelLikelihood Likelihood => inner.Likelihood;
        public Device Device => inner.Device;
        public ScalarType DType => inner.DType;
        public IReadOnlyList<GenerationOrder>? SupportedOrders => supported;
        public bool SupportsOrder(GenerationOrder order) => inner.SupportsOrder(order) && (supported is null || supported.Contains(order));
        public ComputePrecision Precision => ComputePrecision.Float32;
        public IAutoregressiveImageModel WithPrecision(ComputePrecision precision) =>
            precision == ComputePrecision.Float32 ? this : throw new NotSupportedException("The observed model evaluates in float32 only.");

        public Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout = null)
        {
            ImagesEvaluated += x.shape[0];
            return inner.DistributionParameters(x, orders, dropout);
        }

        public Tensor LogLikelihoodPerPixel(Tensor x, GenerationOrder order) => ModelLikelihoods.PerPixel(this, x, order);
        public Tensor LogLikelihood(Tensor x, GenerationOrder order) => ModelLikelihoods.PerImage(this, x, order);
        public Tensor LogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders) => ModelLikelihoods.PerImage(this, x, orders);
        public Tensor PerOrderLogLikelihoods(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
            ModelLikelihoods.PerOrder(this, x, orders, null, maxBatchSize);
        public Tensor EnsembleLogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
            ModelLikelihoods.Ensemble(this, x, orders, maxBatchSize);
        public Tensor RegionLogLikelihood(Tensor x, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
            ModelLikelihoods.Region(this, x, region, orders, maxBatchSize);
        public void Dispose() { }
    }
}
