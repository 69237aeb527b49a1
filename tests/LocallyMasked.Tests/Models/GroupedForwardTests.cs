using LocallyMasked.Convolution;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Masks;

namespace LocallyMasked.Tests.Models;

public class GroupedForwardTests
{
    [Fact]
    public void Images_sharing_orders_run_in_groups_and_match_the_per_sample_masks_forward_and_backward()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        // A small model whose policy lowers the grouping threshold to its width, so that the grouped pass runs.
        var config = new PixelCnnConfig
        {
            ImageChannels = 1, Height = 8, Width = 8, Filters = 16, ResidualBlocks = 1,
            Likelihood = LikelihoodKind.GreyLogisticMixture, MixtureComponents = 2,
        };
        var model = new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64, planning: PlanningPolicy.Deterministic with { GroupingMinFilters = 16 });
        var variants = GenerationOrders.SCurve(8, 8).Variants();
        var orders = new[] { variants[3], variants[0], variants[3], variants[5], variants[0], variants[3] };
        var x = (torch.rand(orders.Length, 1, 8, 8, ScalarType.Float64) * 2 - 1).requires_grad_(true);

        var grouped = model.MasksFor(orders);           // stacked from the cached shared masks: runs in 3 groups
        var perSample = MaskSet.Create(orders, 3, 2, ScalarType.Float64); // plain per-sample masks: one pass
        var a = model.forward(x, grouped);
        var b = model.forward(x, perSample);
        (a - b).abs().max().item<double>().Should().BeLessThan(1e-10);

        var ga = torch.autograd.grad(new[] { (a * a).sum() }, new[] { x })[0];
        var gb = torch.autograd.grad(new[] { (b * b).sum() }, new[] { x })[0];
        (ga - gb).abs().max().item<double>().Should().BeLessThan(1e-10);
    }
}
