using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Convolution.Kernels;

namespace LocallyMasked.Tests.Convolution;

/// <summary>Every fast path (dense box convolution, masked columns, their sum, chunking) equals the general path.</summary>
public sealed class ConvolutionPathTests
{
    private const int Batch = 3, InChannels = 2, OutChannels = 3;

    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var kind in new[] { "raster", "s-curve", "s-curve-transposed", "random", "per-sample", "all-ones", "non-binary", "zig-zag", "hilbert", "generalized-hilbert", "s-curve-variants" }
                     .Concat(Enumerable.Range(0, 8).Select(v => $"s-curve-variant-{v}")))
            foreach (var dilation in new[] { 1, 2 })
                foreach (var typeB in new[] { false, true })
                    data.Add(kind, dilation, typeB);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryPlanEqualsTheGeneralPathForwardAndBackward(string kind, int dilation, bool typeB)
    {
        manual_seed(40 + dilation);
        using var scope = NewDisposeScope();
        // 7x5 (odd and non-square, so row/column mix-ups show) except for the Hilbert curve, which needs a power of two.
        // The symmetric variants of a non-square image change its shape, so they use a square one.
        foreach (var (h, w) in new[] { kind == "hilbert" ? (8, 8) : kind.StartsWith("s-curve-variant") ? (6, 6) : (7, 5) })
        {
            var mask = Mask(kind, h, w, dilation, typeB);
            var x = randn(Batch, InChannels, h, w, dtype: ScalarType.Float64, requires_grad: true);
            var weight = randn(OutChannels, InChannels, 3, 3, dtype: ScalarType.Float64, requires_grad: true);
            var bias = randn(OutChannels, dtype: ScalarType.Float64, requires_grad: true);
            var r = randn(Batch, OutChannels, h, w, dtype: ScalarType.Float64);
            var expected = ConvolutionPlanner.General(x, weight, bias, mask, 3, dilation);
            var expectedGradients = autograd.grad(new[] { (expected * r).sum() }, new[] { x, weight, bias });

            foreach (var (name, plan) in Plans(mask, h, w, dilation))
            {
                var because = $"{kind}, {h}x{w}, dilation {dilation}, type {(typeB ? "B" : "A")}, {name}: {plan}";
                var actual = ConvolutionPlanner.Apply(x, weight, bias, plan);
                actual.shape.Should().Equal(expected.shape);
                LocallyMaskedConv2dTests.MaxAbsDifference(actual, expected).Should().BeLessThan(1e-10, because);
                var gradients = autograd.grad(new[] { (actual * r).sum() }, new[] { x, weight, bias });
                for (var i = 0; i < 3; i++)
                    LocallyMaskedConv2dTests.MaxAbsDifference(gradients[i], expectedGradients[i]).Should().BeLessThan(1e-10, $"{because}, gradient {i}");
            }
        }
    }

    [Fact]
    public void WithTheCpuTableTheFastestPlanIsADenseConvolutionForRasterPeriodicForTheSCurveAndGatheredColumnsForRandomOrders()
    {
        using var scope = NewDisposeScope();
        MaskPlan Plan(string kind, bool typeB) =>
            MaskPlan.Create(Mask(kind, 32, 32, 1, typeB), 32, 32, 3, 1, 160, ScalarType.Float64, CPU, costs: PlanCosts.CpuTable, batch: 16);
        var raster = Plan("raster", true);
        raster.Columns.Should().BeNull();
        raster.Box.Should().Be((0, 1, 0, 2), "the raster type-B kernel's taps lie in the top two rows");
        raster.FullTaps.Should().Equal(0, 1, 2, 3, 4);

        var sCurve = Plan("s-curve", true);
        sCurve.FullTaps.Should().Equal(0, 1, 2, 4);
        sCurve.PartialTaps.Should().Equal(3, 5);
        sCurve.DeadTaps.Should().Equal(6, 7, 8);
        sCurve.Periodic.Should().NotBeNull();
        (sCurve.Periodic!.RowPeriod, sCurve.Periodic.ColPeriod).Should().Be((2, 1));
        (sCurve.Box, sCurve.Columns).Should().Be((null, null));

        var random = Plan("random", false);
        random.PartialTaps.Should().HaveCount(8, "every neighbour of a random order is sometimes earlier and sometimes later");
        random.DeadTaps.Should().Equal(4);
        random.Periodic.Should().BeNull();
        random.Gathered.Should().NotBeNull("each pixel computes only its group's taps, about half of the kernel");
        random.Gathered!.TapsPerUnit.Should().BeLessThan(6.5);
        random.Estimate.Should().BeGreaterThan(0);
    }

    [Theory]
    [InlineData("hilbert", 1)]
    [InlineData("hilbert", 2)]
    [InlineData("per-sample", 1)]
    [InlineData("per-sample", 2)]
    public void GatheredColumnsInFloat32EqualTheGeneralPath(string kind, int dilation)
    {
        manual_seed(50 + dilation);
        using var scope = NewDisposeScope();
        var mask = Mask(kind, 8, 8, dilation, true).to(ScalarType.Float32);
        var x = randn(Batch, 5, 8, 8, requires_grad: true);
        var weight = randn(7, 5, 3, 3, requires_grad: true);
        var bias = randn(7, requires_grad: true);
        var r = randn(Batch, 7, 8, 8);
        var expected = ConvolutionPlanner.General(x, weight, bias, mask, 3, dilation);
        var expectedGradients = autograd.grad(new[] { (expected * r).sum() }, new[] { x, weight, bias });
        var plan = MaskPlan.Create(mask, 8, 8, 3, dilation, 5, ScalarType.Float32, CPU, maxChunk: 5, periodic: false, costs: PlanCosts.CpuTable,
            gathered: true, outChannels: 7, batch: Batch);
        var actual = ConvolutionPlanner.Apply(x, weight, bias, plan);
        LocallyMaskedConv2dTests.MaxAbsDifference(actual.to(ScalarType.Float64), expected.to(ScalarType.Float64)).Should().BeLessThan(1e-4, plan.ToString());
        var gradients = autograd.grad(new[] { (actual * r).sum() }, new[] { x, weight, bias });
        for (var i = 0; i < 3; i++)
            LocallyMaskedConv2dTests.MaxAbsDifference(gradients[i].to(ScalarType.Float64), expectedGradients[i].to(ScalarType.Float64))
                .Should().BeLessThan(1e-3, $"{plan}, gradient {i}");
    }

    [Fact]
    public void TapGridsAreRecognisedOnlyWhenRegularAndRowMajor()
    {
        WideColumnLayout.FindGrid(Enumerable.Range(0, 9).ToArray(), 3).Should().Be((0, 1, 3, 0, 1, 3));
        WideColumnLayout.FindGrid(new[] { 3, 5 }, 3).Should().Be((1, 1, 1, 0, 2, 2));
        WideColumnLayout.FindGrid(new[] { 0, 1, 2, 6, 7, 8 }, 3).Should().Be((0, 2, 2, 0, 1, 3));
        WideColumnLayout.FindGrid(new[] { 1, 4, 7 }, 3).Should().Be((0, 1, 3, 1, 1, 1));
        WideColumnLayout.FindGrid(new[] { 4 }, 3).Should().Be((1, 1, 1, 1, 1, 1));
        WideColumnLayout.FindGrid(new[] { 0, 1, 3 }, 3).Should().BeNull("an L shape is not a grid");
        WideColumnLayout.FindGrid(new[] { 0, 1, 2, 3, 4, 5, 6, 8 }, 3).Should().BeNull("a grid with a hole is not a grid");
        WideColumnLayout.FindGrid(new[] { 0, 1, 5 }, 5).Should().BeNull("the columns 0, 1 and the row step do not match");
        WideColumnLayout.FindGrid(new[] { 0, 1, 3, 4, 2 }, 5).Should().BeNull("not row-major");
    }

    [Fact]
    public void SCurvesArePeriodicAndRandomOrdersAreNot()
    {
        using var scope = NewDisposeScope();
        foreach (var dilation in new[] { 1, 2 })
        {
            var variants = GenerationOrders.SCurve(8, 8).Variants();
            for (var v = 0; v < 8; v++)
            {
                var plan = MaskPlan.Create(LocalMasks.Create(variants[v], 3, dilation, MaskType.B, dtype: ScalarType.Float64), 8, 8, 3, dilation, 64, ScalarType.Float64, CPU, periodic: true);
                plan.Periodic.Should().NotBeNull($"variant {v}, dilation {dilation}");
                (plan.Periodic!.RowPeriod * plan.Periodic.ColPeriod).Should().Be(2, "rows (or columns) alternate direction");
                plan.Periodic.Classes.Should().OnlyContain(c => c.Area <= 6, "each direction's taps lie in two rows (or columns) of three");
            }

            MaskPlan.Create(Mask("random", 8, 8, dilation, true), 8, 8, 3, dilation, 64, ScalarType.Float64, CPU, periodic: true)
                .Periodic.Should().BeNull();
            MaskPlan.Create(Mask("hilbert", 8, 8, dilation, true), 8, 8, 3, dilation, 64, ScalarType.Float64, CPU, periodic: true)
                .Periodic.Should().BeNull();
        }
    }

    [Fact]
    public void ThePlanIsCachedPerMaskInstance()
    {
        using var scope = NewDisposeScope();
        var mask = Mask("s-curve", 8, 8, 1, true);
        var x = randn(2, 2, 8, 8, dtype: ScalarType.Float64);
        var policy = PlanningPolicy.Deterministic;
        var first = ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, policy);
        ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, policy).Should().BeSameAs(first);
        var copy = mask.clone();
        ConvolutionPlanner.PlanFor(copy, copy, x, 3, 1, policy).Should().NotBeSameAs(first);
        ConvolutionPlanner.PlanFor(mask, mask, x, 3, 2, policy).Should().NotBeSameAs(first, "the dilation changes which taps fall on padding");
        var other = PlanningPolicy.FromTable(PlanCosts.CudaTable);
        ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, other).Should().NotBeSameAs(first, "another policy may choose another path")
            .And.Match<MaskPlan>(p => p.Costs == PlanCosts.CudaTable);
    }

    /// <summary>The automatic plan, columns only, and dense boxes of several shapes, each also with small chunks.</summary>
    private static IEnumerable<(string Name, MaskPlan Plan)> Plans(Tensor mask, int h, int w, int dilation)
    {
        MaskPlan Make(Func<IReadOnlyList<int>, (int, int, int, int)?>? box, long? chunk, bool? periodic = false, bool? gathered = false, PlanCosts? costs = null)
            => MaskPlan.Create(mask, h, w, 3, dilation, InChannels, ScalarType.Float64, CPU, box, chunk, periodic, costs ?? PlanCosts.CpuTable, gathered,
                OutChannels, Batch);

        yield return ("automatic", Make(null, null, null, null));
        // Gathered columns whenever the mask is 0/1 (all but the non-binary mask), with the table's grouping, with one
        // group per distinct pattern and with everything in one group.
        yield return ("gathered", Make(null, null, false, true));
        // Chunks of 3 units: many chunks, groups split across them.
        yield return ("gathered, chunks of 3", Make(null, 3, false, true));
        yield return ("gathered, a group per pattern", Make(null, null, false, true, PlanCosts.CpuTable with { OperationSeconds = 0, ProductHalfFlops = 0 }));
        yield return ("gathered, one group", Make(null, null, false, true, PlanCosts.CpuTable with { OperationSeconds = 1 }));
        // Periodic strided convolutions whenever the mask repeats (S-curves, raster, all-ones); the others fall back.
        yield return ("periodic", Make(null, null, true));
        // Chunks of 2 of the 3 samples: several chunks, the last one shorter.
        yield return ("automatic, chunks of 2", Make(null, 2));
        yield return ("columns only, chunks of 2", Make(_ => null, 2));
        yield return ("3x3 box", Make(full => full.Count > 0 ? (0, 2, 0, 2) : null, null));
        yield return ("bounding box", Make(full => full.Count > 0 ? (full.Min(t => t / 3), full.Max(t => t / 3), full.Min(t => t % 3), full.Max(t => t % 3)) : null, null));
        yield return ("first full tap alone", Make(full => full.Count > 0 ? (full[0] / 3, full[0] / 3, full[0] % 3, full[0] % 3) : null, null));
        // With every tap full (all-ones), the columns are rows 0 and 2: a grid with a row step of 2.
        yield return ("middle row box", Make(full => full.Any(t => t / 3 == 1) ? (1, 1, 0, 2) : null, null));
    }

    internal static Tensor Mask(string kind, int h, int w, int dilation, bool typeB)
    {
        var type = typeB ? MaskType.B : MaskType.A;
        switch (kind)
        {
            case "zig-zag":
                return LocalMasks.Create(GenerationOrders.ZigZag(h, w), 3, dilation, type, dtype: ScalarType.Float64);
            case "hilbert":
                return LocalMasks.Create(GenerationOrders.Hilbert(h), 3, dilation, type, dtype: ScalarType.Float64);
            case "generalized-hilbert":
                return LocalMasks.Create(GenerationOrders.GeneralizedHilbert(h, w), 3, dilation, type, dtype: ScalarType.Float64);
            case "s-curve-variants":
                // Three of the eight symmetric S-curves, one per sample.
                var variants = GenerationOrders.SCurve(h, w).Variants();
                return LocalMasks.Create(new[] { variants[1], variants[4], variants[7] }, 3, dilation, type, dtype: ScalarType.Float64);
            case var variant when variant.StartsWith("s-curve-variant-"):
                var index = int.Parse(variant["s-curve-variant-".Length..]);
                return LocalMasks.Create(GenerationOrders.SCurve(h, w).Variants()[index], 3, dilation, type, dtype: ScalarType.Float64);
            case "all-ones":
                return ones(9, h * w, dtype: ScalarType.Float64);
            case "non-binary":
                return rand(9, h * w, dtype: ScalarType.Float64);
            case "per-sample":
                return TestMasks.PerSample(h, w, new[] { TestMasks.SCurveRanks(h, w), TestMasks.RasterRanks(h, w), TestMasks.RandomRanks(h, w, 41) }, 3, dilation, typeB);
        }

        var ranks = kind switch
        {
            "raster" => TestMasks.RasterRanks(h, w),
            "s-curve" => TestMasks.SCurveRanks(h, w),
            "s-curve-transposed" => Transposed(h, w),
            _ => TestMasks.RandomRanks(h, w, 42),
        };
        return TestMasks.Tensor(h, w, ranks, 3, dilation, typeB);
    }

    /// <summary>The S-curve over columns: even columns top to bottom, odd columns bottom to top.</summary>
    private static int[] Transposed(int h, int w)
    {
        var ranks = new int[h * w];
        for (var i = 0; i < h; i++)
            for (var j = 0; j < w; j++)
                ranks[i * w + j] = j * h + (j % 2 == 0 ? i : h - 1 - i);
        return ranks;
    }
}
