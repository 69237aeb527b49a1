using LocallyMasked.Likelihoods;
using LocallyMasked.Orders;
using LocallyMasked.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

public class OrderEnsembleTests
{
    private static double LogSumExp(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double m = v.Max();
        return m + Math.Log(v.Sum(a => Math.Exp(a - m)));
    }

    [Fact]
    public void An_ensemble_of_one_order_equals_that_order()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 3);
        var order = GenerationOrders.SCurve(6, 6);
        model.EnsembleLogLikelihood(x, new[] { order }).allclose(model.LogLikelihood(x, order), rtol: 1e-12, atol: 1e-10).Should().BeTrue();
    }

    [Fact]
    public void An_ensemble_of_identical_orders_equals_each()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 2);
        var order = GenerationOrders.ZigZag(6, 6);
        var ensemble = model.EnsembleLogLikelihood(x, new[] { order, order, order, order });
        ensemble.allclose(model.LogLikelihood(x, order), rtol: 1e-12, atol: 1e-10).Should().BeTrue();
    }

    [Fact]
    public void Batched_and_chunked_ensembles_equal_the_one_by_one_mixture()
    {
        var config = TinyModels.Rgb(6);
        using var model = TinyModels.Create(config, seed: 2);
        var x = TinyModels.Images(config, 3);
        var orders = GenerationOrders.SCurve(6, 6).Variants().Where((_, i) => i is 0 or 3 or 6).ToArray();
        var single = orders.Select(o => model.LogLikelihood(x, o).data<double>().ToArray()).ToArray();
        var expected = Enumerable.Range(0, 3).Select(n => LogSumExp(single.Select(s => s[n])) - Math.Log(orders.Length)).ToArray();

        var batched = model.EnsembleLogLikelihood(x, orders).data<double>().ToArray();
        var chunked = model.EnsembleLogLikelihood(x, orders, maxBatchSize: 4).data<double>().ToArray();
        var small = model.EnsembleLogLikelihood(x, orders, maxBatchSize: 2).data<double>().ToArray();
        for (int n = 0; n < 3; n++)
        {
            batched[n].Should().BeApproximately(expected[n], 1e-9);
            chunked[n].Should().BeApproximately(expected[n], 1e-9);
            small[n].Should().BeApproximately(expected[n], 1e-9);
        }

        var perOrder = model.PerOrderLogLikelihoods(x, orders, maxBatchSize: 5);
        perOrder.shape.Should().Equal(3, 3);
        for (int k = 0; k < 3; k++)
            for (int n = 0; n < 3; n++)
                perOrder[n, k].item<double>().Should().BeApproximately(single[k][n], 1e-9);
    }

    [Fact]
    public void Region_likelihood_sums_only_the_region_under_region_last_orders()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config, seed: 4);
        var x = TinyModels.Images(config, 2);
        var region = ImageRegion.TopHalf(6, 6);
        var orders = new[] { GenerationOrders.SCurve(6, 6), GenerationOrders.SCurve(6, 6).Transform(OrderSymmetry.ReflectRows) };

        var actual = model.RegionLogLikelihood(x, region, orders).data<double>().ToArray();
        var perOrder = orders.Select(o =>
        {
            var regionLast = o.WithRegionLast(region.Pixels);
            var perPixel = model.LogLikelihoodPerPixel(x, regionLast).reshape(2, 36).data<double>().ToArray();
            return Enumerable.Range(0, 2).Select(n => region.Pixels.Sum(p => perPixel[n * 36 + p])).ToArray();
        }).ToArray();
        for (int n = 0; n < 2; n++)
            actual[n].Should().BeApproximately(LogSumExp(perOrder.Select(s => s[n])) - Math.Log(2), 1e-9);

        var again = model.RegionLogLikelihood(x, region, orders, maxBatchSize: 3).data<double>().ToArray();
        again[0].Should().BeApproximately(actual[0], 1e-9);
    }

    [Fact]
    public void A_whole_image_region_gives_the_full_ensemble_likelihood()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config, seed: 6);
        var x = TinyModels.Images(config, 2);
        var all = ImageRegion.Box(6, 6, 0, 0, 6, 6);
        var orders = new[] { GenerationOrders.Raster(6, 6), GenerationOrders.ZigZag(6, 6) };
        model.RegionLogLikelihood(x, all, orders).allclose(model.EnsembleLogLikelihood(x, orders), rtol: 1e-12, atol: 1e-9)
            .Should().BeTrue();
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 1);
        Action act = () => model.EnsembleLogLikelihood(x, Array.Empty<GenerationOrder>());
        act.Should().Throw<ArgumentException>().WithParameterName("orders");
        act = () => model.EnsembleLogLikelihood(x, new[] { GenerationOrders.Raster(6, 6) }, maxBatchSize: 0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("maxBatchSize");
        act = () => model.RegionLogLikelihood(x, ImageRegion.TopHalf(4, 4), new[] { GenerationOrders.Raster(6, 6) });
        act.Should().Throw<ArgumentException>().WithParameterName("region");
        act = () => model.EnsembleLogLikelihood(x * 2, new[] { GenerationOrders.Raster(6, 6) });
        act.Should().Throw<ArgumentException>().WithParameterName("x");
    }
}
