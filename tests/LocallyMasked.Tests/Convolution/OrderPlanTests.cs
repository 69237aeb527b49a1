using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>
/// Masks analysed from their orders on the host: the analysis and the plans equal those read from the mask tensor, a
/// batch with one order per image composes its plan from the orders' analyses and computes what the general path
/// computes, and a repeated step analyses nothing.
/// </summary>
public sealed class OrderPlanTests
{
    private const int Size = 8;

    public static TheoryData<string, int, MaskType> Orders()
    {
        var data = new TheoryData<string, int, MaskType>();
        foreach (var name in new[] { "raster", "s-curve", "s-curve-5", "zig-zag", "hilbert", "random" })
            foreach (var dilation in new[] { 1, 2 })
                foreach (var type in new[] { MaskType.A, MaskType.B })
                    data.Add(name, dilation, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void PlansFromTheOrderEqualPlansFromTheMaskTensor(string name, int dilation, MaskType type)
    {
        manual_seed(60 + dilation);
        using var scope = NewDisposeScope();
        var order = Order(name);
        var fromOrder = OrderPlans.AnalysisOf(order, 3, dilation, type);
        var mask = LocalMasks.Create(order, 3, dilation, type, dtype: ScalarType.Float64);
        var fromTensor = MaskAnalysis.FromTensor(mask, Size, Size, 3, dilation);
        fromOrder.Values.Should().Equal(fromTensor.Values);
        (fromOrder.FullTaps, fromOrder.PartialTaps, fromOrder.DeadTaps).Should().BeEquivalentTo((fromTensor.FullTaps, fromTensor.PartialTaps, fromTensor.DeadTaps));

        var x = randn(4, 6, Size, Size, dtype: ScalarType.Float64, requires_grad: true);
        var weight = randn(5, 6, 3, 3, dtype: ScalarType.Float64, requires_grad: true);
        var bias = randn(5, dtype: ScalarType.Float64, requires_grad: true);
        foreach (var (inChannels, outChannels, batch) in new[] { (6, 5, 4L), (64, 64, 16L), (160, 160, 16L) })
        {
            var a = MaskPlan.Create(fromOrder, inChannels, ScalarType.Float64, CPU, PlanCosts.CpuTable, outChannels, batch);
            var b = MaskPlan.Create(fromTensor, inChannels, ScalarType.Float64, CPU, PlanCosts.CpuTable, outChannels, batch);
            a.ToString().Should().Be(b.ToString(), $"{name}, {inChannels} -> {outChannels}");
            a.Estimate.Should().Be(b.Estimate);
        }

        // The model's path (a mask with its source) computes bit for bit what the tensor's plan computes.
        var set = MaskSet.Create(order, 3, dilation, ScalarType.Float64);
        var role = type == MaskType.A ? MaskRole.First : dilation == 1 ? MaskRole.Undilated : MaskRole.Dilated;
        if (role == MaskRole.First && dilation != 1)
            return;
        var viaOrder = LocallyMaskedConvolution.Apply(x, MaskOf(set, role), set.SourceOf(role), weight, bias, null, 3, dilation,
            PlanningPolicy.Deterministic);
        var viaTensor = LocallyMaskedConvolution.locally_masked_conv2d(x, mask, weight, bias, dilation: dilation);
        LocallyMaskedConv2dTests.MaxAbsDifference(viaOrder, viaTensor).Should().Be(0, name);
    }

    public static TheoryData<string, int> Batches()
    {
        var data = new TheoryData<string, int>();
        foreach (var batch in new[] { "s-curve-variants", "mixed", "one-order", "repeated" })
            foreach (var dilation in new[] { 1, 2 })
                data.Add(batch, dilation);
        return data;
    }

    [Theory]
    [MemberData(nameof(Batches))]
    public void APerImageBatchComposedFromTheOrdersEqualsTheGeneralPathForwardAndBackward(string batch, int dilation)
    {
        manual_seed(70 + dilation);
        using var scope = NewDisposeScope();
        var orders = BatchOrders(batch);
        var set = MaskSet.Create(orders, 3, dilation, ScalarType.Float64);
        var x = randn(orders.Length, 4, Size, Size, dtype: ScalarType.Float64, requires_grad: true);
        var weight = randn(5, 4, 3, 3, dtype: ScalarType.Float64, requires_grad: true);
        var bias = randn(5, dtype: ScalarType.Float64, requires_grad: true);
        var r = randn(orders.Length, 5, Size, Size, dtype: ScalarType.Float64);
        foreach (var role in new[] { MaskRole.First, MaskRole.Undilated, MaskRole.Dilated })
        {
            var mask = MaskOf(set, role);
            var d = role == MaskRole.Dilated ? dilation : 1;
            var because = $"{batch}, {role}, dilation {d}";
            var plan = OrderPlans.PlanFor(set.SourceOf(role)!, x, 5, PlanningPolicy.Deterministic)!;
            var tensorPlan = ConvolutionPlanner.PlanFor(mask, mask, x, 3, d, PlanningPolicy.Deterministic, 5);
            plan.ToString().Should().Be(tensorPlan.ToString(), because);

            var expected = ConvolutionPlanner.General(x, weight, bias, mask, 3, d);
            var expectedGradients = autograd.grad(new[] { (expected * r).sum() }, new[] { x, weight, bias });
            var actual = LocallyMaskedConvolution.Apply(x, mask, set.SourceOf(role), weight, bias, null, 3, d, PlanningPolicy.Deterministic);
            LocallyMaskedConv2dTests.MaxAbsDifference(actual, expected).Should().BeLessThan(1e-10, $"{because}: {plan}");
            var gradients = autograd.grad(new[] { (actual * r).sum() }, new[] { x, weight, bias });
            for (var i = 0; i < 3; i++)
                LocallyMaskedConv2dTests.MaxAbsDifference(gradients[i], expectedGradients[i]).Should().BeLessThan(1e-10, $"{because}, gradient {i}");
            LocallyMaskedConv2dTests.MaxAbsDifference(actual, LocallyMaskedConvolution.locally_masked_conv2d(x, mask, weight, bias, dilation: d))
                .Should().Be(0, $"{because}: the composed plan is the one the tensor gets");
        }
    }

    [Fact]
    public void WithoutGatheredColumnsAPerImageBatchOfSeveralOrdersTakesTheGeneralPath()
    {
        manual_seed(80);
        using var scope = NewDisposeScope();
        var set = MaskSet.Create(BatchOrders("mixed"), 3, 2, ScalarType.Float64);
        var x = randn(4, 3, Size, Size, dtype: ScalarType.Float64);
        var policy = PlanningPolicy.FromTable(PlanCosts.CudaTable);
        OrderPlans.PlanFor(set.SourceOf(MaskRole.Dilated)!, x, 3, policy)!.General.Should().BeTrue();
        var weight = randn(3, 3, 3, 3, dtype: ScalarType.Float64);
        var actual = LocallyMaskedConvolution.Apply(x, set.Dilated, set.SourceOf(MaskRole.Dilated), weight, null, null, 3, 2, policy);
        LocallyMaskedConv2dTests.MaxAbsDifference(actual, ConvolutionPlanner.General(x, weight, null, set.Dilated, 3, 2)).Should().Be(0);
    }

    [Fact]
    public void ASecondStepWithTheSameOrdersAnalysesNothingAndReusesItsPlans()
    {
        manual_seed(90);
        using var scope = NewDisposeScope();
        var config = new PixelCnnConfig { ImageChannels = 1, Height = Size, Width = Size, Filters = 8, ResidualBlocks = 1, Likelihood = LikelihoodKind.Binary };
        using var model = new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64);
        // Order objects of their own, so that no other test's analyses are counted.
        var variants = GenerationOrders.SCurve(Size, Size).Variants().Select(o => GenerationOrder.FromSequence(Size, Size, o.Sequence)).ToArray();
        var orders = new[] { variants[2], variants[6], variants[2], variants[0], variants[6], variants[6] };
        var x = rand(orders.Length, 1, Size, Size, dtype: ScalarType.Float64).GreaterThan(0.5).to_type(ScalarType.Float64) * 2 - 1;
        var source = model.MasksFor(orders).SourceOf(MaskRole.Undilated)!;

        model.LogLikelihood(x, orders).sum().backward();
        var counts = variants.Select(OrderPlans.AnalysisCount).ToArray();
        counts.Should().Equal(new[] { 3, 0, 3, 0, 0, 0, 3, 0 }, "each order used has its three masks analysed (type A, type B, dilated), the others none");
        var plans = new[] { 0, 2, 6 }.Select(v => OrderPlans.AnalysisOf(variants[v], 3, 1, MaskType.B).PlanCount).ToArray();
        var composed = OrderPlans.PlanFor(source, randn(orders.Length, 2 * 8, Size, Size, dtype: ScalarType.Float64), 8, PlanningPolicy.Deterministic);

        model.LogLikelihood(x, orders).sum().backward();
        model.LogLikelihood(x, orders.Reverse().ToArray()).sum().backward();
        variants.Select(OrderPlans.AnalysisCount).Should().Equal((IEnumerable<int>)counts, "a step with orders already seen analyses no mask");
        new[] { 0, 2, 6 }.Select(v => OrderPlans.AnalysisOf(variants[v], 3, 1, MaskType.B).PlanCount).Should().Equal((IEnumerable<int>)plans);
        OrderPlans.PlanFor(source, randn(orders.Length, 2 * 8, Size, Size, dtype: ScalarType.Float64), 8, PlanningPolicy.Deterministic)
            .Should().BeSameAs(composed, "the same orders in the same places reuse the composed plan");
    }

    [Fact]
    public void TwoModelsWithTheDefaultPolicyComputeTheSameBitsFromFreshAnalyses()
    {
        Tensor[] Run()
        {
            manual_seed(91);
            using var scope = NewDisposeScope();
            var config = new PixelCnnConfig { ImageChannels = 1, Height = Size, Width = Size, Filters = 8, ResidualBlocks = 1, Likelihood = LikelihoodKind.Binary };
            using var model = new LocallyMaskedPixelCnn(config);
            var variants = GenerationOrders.SCurve(Size, Size).Variants().Select(o => GenerationOrder.FromSequence(Size, Size, o.Sequence)).ToArray();
            var orders = new[] { variants[1], variants[4], variants[4], Order("random") };
            var x = rand(orders.Length, 1, Size, Size).GreaterThan(0.5).to_type(ScalarType.Float32) * 2 - 1;
            var loss = model.LogLikelihood(x, orders).sum();
            var gradients = autograd.grad(new[] { loss }, model.parameters().ToArray());
            return gradients.Prepend(loss).Select(t => t.detach().clone().DetachFromDisposeScope()).ToArray();
        }

        var first = Run();
        var second = Run();
        for (var i = 0; i < first.Length; i++)
            LocallyMaskedConv2dTests.MaxAbsDifference(first[i].to_type(ScalarType.Float64), second[i].to_type(ScalarType.Float64))
                .Should().Be(0, $"tensor {i} is the same bit for bit");
        foreach (var t in first.Concat(second))
            t.Dispose();
    }

    private static Tensor MaskOf(MaskSet set, MaskRole role) => role switch
    {
        MaskRole.First => set.First,
        MaskRole.Dilated => set.Dilated,
        _ => set.Undilated,
    };

    private static GenerationOrder Order(string name) => name switch
    {
        "raster" => GenerationOrders.Raster(Size, Size),
        "s-curve" => GenerationOrders.SCurve(Size, Size),
        "s-curve-5" => GenerationOrders.SCurve(Size, Size).Variants()[5],
        "zig-zag" => GenerationOrders.ZigZag(Size, Size),
        "hilbert" => GenerationOrders.Hilbert(Size),
        _ => GenerationOrder.FromSequence(Size, Size, TestMasks.RandomRanks(Size, Size, 17).Select((rank, pixel) => (rank, pixel)).OrderBy(p => p.rank).Select(p => p.pixel)),
    };

    private static GenerationOrder[] BatchOrders(string batch)
    {
        var variants = GenerationOrders.SCurve(Size, Size).Variants();
        return batch switch
        {
            "s-curve-variants" => new[] { variants[3], variants[0], variants[3], variants[7], variants[1] },
            "mixed" => new[] { Order("hilbert"), variants[2], Order("random"), Order("raster") },
            "one-order" => new[] { variants[4], variants[4], variants[4] },
            // Equal orders as different objects: composed like different orders.
            _ => new[] { variants[6], GenerationOrder.FromSequence(Size, Size, variants[6].Sequence), variants[6] },
        };
    }
}
