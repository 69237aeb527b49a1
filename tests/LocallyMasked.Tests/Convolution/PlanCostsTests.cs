using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>The planner's cost model: the calibration, the tables per device type and policy, and the grouping of gathered columns.</summary>
public sealed class PlanCostsTests
{
    [Fact]
    public void TheCalibrationMeasuresPositiveFiniteRates()
    {
        var costs = CostCalibration.Measure(ScalarType.Float32);
        foreach (var rate in new[] { costs.ConvolutionFlops, costs.ProductFlops, costs.BytesPerSecond, costs.OperationSeconds })
            double.IsFinite(rate).Should().BeTrue(costs.ToString());
        costs.ConvolutionFlops.Should().BeGreaterThan(1e8, costs.ToString());
        costs.ProductFlops.Should().BeGreaterThan(1e8, costs.ToString());
        costs.BytesPerSecond.Should().BeGreaterThan(1e7, costs.ToString());
        costs.OperationSeconds.Should().BeInRange(1e-8, 1e-2, costs.ToString());
        costs.ProductHalfFlops.Should().BeGreaterThanOrEqualTo(0);
        costs.StridedConvolutionFlops.Should().BeGreaterThan(1e8);
        costs.ProductHalfDepth.Should().BeInRange(0, 4096);
        costs.GatheredColumns.Should().BeTrue();
    }

    [Fact]
    public void TheDeterministicPolicyPlansFromTablesAndTheTimingDependentOneMeasuresTheCpu()
    {
        var cuda = new Device(DeviceType.CUDA, 0);
        var deterministic = PlanningPolicy.Deterministic;
        deterministic.DependsOnTimings.Should().BeFalse();
        deterministic.CostsFor(CPU, ScalarType.Float32).Should().BeSameAs(PlanCosts.CpuTable);
        deterministic.CostsFor(CPU, ScalarType.Float64).Should().BeSameAs(PlanCosts.CpuTable);
        deterministic.CostsFor(cuda, ScalarType.Float32).Should().BeSameAs(PlanCosts.CudaTable, "CPU rates must not decide for a GPU");

        var timed = PlanningPolicy.TimingDependent;
        timed.DependsOnTimings.Should().BeTrue();
        timed.CostsFor(CPU, ScalarType.Float32).Source.Should().StartWith("measured");
        timed.CostsFor(CPU, ScalarType.Float32).Should().BeSameAs(timed.CostsFor(CPU, ScalarType.Float32), "measured once per process");
        timed.CostsFor(cuda, ScalarType.Float32).Should().BeSameAs(PlanCosts.CudaTable, "CPU timings must not decide for a GPU");
        timed.Should().NotBe(deterministic);
        (deterministic with { GroupingMinFilters = 16 }).Should().NotBe(deterministic).And.Be(deterministic with { GroupingMinFilters = 16 });
        var act = () => deterministic with { GroupingMinFilters = 0 };
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "GroupingMinFilters");
    }

    [Fact]
    public void LayersAndModelsPlanDeterministicallyUnlessTheCalibrationIsAskedFor()
    {
        using var scope = NewDisposeScope();
        var mask = TestMasks.Tensor(8, 8, TestMasks.RandomRanks(8, 8, 9), 3, 1, true).to(ScalarType.Float32);
        var x = randn(2, 3, 8, 8);
        var layer = new LocallyMaskedConv2d(3, 4);
        layer.Planning.Should().BeSameAs(PlanningPolicy.Deterministic);
        layer.forward(x, mask);
        ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, layer.Planning, 4).Costs.Should().BeSameAs(PlanCosts.CpuTable, "the default plans from the table");

        var timed = new LocallyMaskedConv2d(3, 4, planning: PlanningPolicy.TimingDependent);
        timed.forward(x, mask);
        ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, timed.Planning, 4).Costs.Source.Should().StartWith("measured");

        var config = new PixelCnnConfig { ImageChannels = 1, Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, Likelihood = LikelihoodKind.Binary };
        using var model = new LocallyMaskedPixelCnn(config);
        model.Planning.Should().BeSameAs(PlanningPolicy.Deterministic);
        model.modules().OfType<LocallyMaskedConv2d>().Should().OnlyContain(c => c.Planning == PlanningPolicy.Deterministic);
        using var calibrated = new LocallyMaskedPixelCnn(config, planning: PlanningPolicy.TimingDependent);
        // u_init, two per block (3 up-pass blocks, 1 + 2 + 2 down-pass blocks) and the four resampling convolutions.
        calibrated.modules().OfType<LocallyMaskedConv2d>().Should().HaveCount(1 + 2 * 3 + 2 * 5 + 4)
            .And.OnlyContain(c => c.Planning == PlanningPolicy.TimingDependent, "the model's policy reaches every convolution");
    }

    [Theory]
    [InlineData("raster")]
    [InlineData("s-curve")]
    [InlineData("hilbert")]
    [InlineData("per-sample")]
    public void TheCudaTableUsesOnlyDensePeriodicAndGeneralPathsAndTheyEqualTheGeneralPath(string kind)
    {
        manual_seed(3);
        using var scope = NewDisposeScope();
        var mask = kind switch
        {
            "raster" => TestMasks.Tensor(8, 8, TestMasks.RasterRanks(8, 8), 3, 1, true),
            "s-curve" => TestMasks.Tensor(8, 8, TestMasks.SCurveRanks(8, 8), 3, 1, true),
            "hilbert" => LocallyMasked.Masks.LocalMasks.Create(LocallyMasked.Orders.GenerationOrders.Hilbert(8), 3, 1, LocallyMasked.Masks.MaskType.B, dtype: ScalarType.Float64),
            _ => TestMasks.PerSample(8, 8, new[] { TestMasks.SCurveRanks(8, 8), TestMasks.RandomRanks(8, 8, 5) }, 3, 1, true),
        };
        var x = randn(2, 3, 8, 8, dtype: ScalarType.Float64, requires_grad: true);
        var weight = randn(4, 3, 3, 3, dtype: ScalarType.Float64, requires_grad: true);
        var bias = randn(4, dtype: ScalarType.Float64, requires_grad: true);
        var plan = MaskPlan.Create(mask, 8, 8, 3, 1, 3, ScalarType.Float64, CPU, costs: PlanCosts.CudaTable, outChannels: 4, batch: 2);
        (plan.Gathered, plan.Columns).Should().Be((null, null), plan.ToString());
        var expected = ConvolutionPlanner.General(x, weight, bias, mask, 3, 1);
        var expectedGradients = autograd.grad(new[] { expected.square().sum() }, new[] { x, weight, bias });
        var actual = ConvolutionPlanner.Apply(x, weight, bias, mask, mask.clone(), null, 3, 1, PlanningPolicy.FromTable(PlanCosts.CudaTable));

        LocallyMaskedConv2dTests.MaxAbsDifference(actual, expected).Should().BeLessThan(1e-10, plan.ToString());
        var gradients = autograd.grad(new[] { actual.square().sum() }, new[] { x, weight, bias });
        for (var i = 0; i < 3; i++)
            LocallyMaskedConv2dTests.MaxAbsDifference(gradients[i], expectedGradients[i]).Should().BeLessThan(1e-10, $"{plan}, gradient {i}");
    }

    [Fact]
    public void EstimatesAreFiniteForGroupsThatSeeNoTap()
    {
        // A type-A mask's first pixel sees nothing: its group has no tap. An estimate of 0 / 0 (NaN) would win every
        // comparison of plans (NaN sorts first) and never merge.
        var shape = new LayerShape(16, 2, 16, 28, 28, 3, 1, 4);
        foreach (var products in new[] { 1, 2 })
            PathEstimates.Group(PlanCosts.CpuTable, shape, 1, 1, 0, products).Should().BeInRange(1e-9, 1e-3);
        var order = GenerationOrders.SCurve(28, 28).Variants()[3];
        var analysis = MaskAnalysis.FromOrder(order, 3, 1, LocallyMasked.Masks.MaskType.A);
        // Without fixed costs a group per pattern is cheapest, the empty one included.
        var perPattern = PlanCosts.CpuTable with { OperationSeconds = 0, ProductHalfFlops = 0 };
        var gathered = MaskPlan.Create(analysis, 2, ScalarType.Float32, CPU, perPattern, 16, 16, periodic: false, gathered: true);
        gathered.Gathered!.Forward.Should().Contain(g => g.Taps.Length == 0, "the first pixel's group computes no tap");
        gathered.Estimate.Should().BeInRange(1e-9, 1.0);
        var table = MaskPlan.Create(analysis, 2, ScalarType.Float32, CPU, PlanCosts.CpuTable, 16, 16, periodic: false, gathered: true);
        table.Estimate.Should().BeInRange(1e-9, 1.0);
        MaskPlan.Create(analysis, 2, ScalarType.Float32, CPU, PlanCosts.CpuTable, 16, 16).Estimate.Should().BeLessThanOrEqualTo(table.Estimate,
            "the fastest plan is chosen by finite estimates");
    }

    [Fact]
    public void GroupsCoverEveryUnitOnceWithItsTapsAndMergeAsTheirCostSays()
    {
        var random = new Random(7);
        // Fewer distinct patterns than seeds (up to 64: the centre and five neighbours), so that all are merged pairwise.
        var patterns = Enumerable.Range(0, 500).Select(_ => ((ulong)random.Next(64) << 3) | 16UL).ToArray();
        foreach (var groupCost in new[] { 0.0, 30.0, 1e9 })
        {
            var groups = TapGroups.Group(patterns, groupCost);
            groups.SelectMany(g => g.Units).Order().Should().Equal(Enumerable.Range(0, patterns.Length), "every unit is in exactly one group");
            foreach (var (taps, units) in groups)
                units.Should().OnlyContain(u => (patterns[u] & ~taps) == 0, "a group computes every tap of its members");
            var expectedCount = groupCost switch
            {
                0.0 => patterns.Distinct().Count(),
                1e9 => 1,
                _ => -1,
            };
            if (expectedCount > 0)
                groups.Should().HaveCount(expectedCount);
            else
                groups.Count.Should().BeInRange(2, patterns.Distinct().Count() - 1);
        }

        // More distinct patterns than seeds: the rare ones join existing groups.
        var many = Enumerable.Range(0, 5000).Select(i => (ulong)i % 500).ToArray();
        TapGroups.Group(many, 0.0).Should().HaveCountLessThanOrEqualTo(TapGroups.MaxSeeds);
    }

    [Fact]
    public void GatheredLayoutsReadTheZeroRowWhereTheMaskIsOffAndTheMirroredTapsInBackward()
    {
        // One 3x3 image, a mask whose only tap is the left neighbour (t = 3): pixel (i, j) reads (i, j - 1).
        var values = new double[9 * 9];
        for (var p = 0; p < 9; p++)
            values[3 * 9 + p] = 1.0;
        var layout = TapGroups.Create(values, 1, 3, 3, 3, 1, groupCost: (units, taps) => (double)units * taps)!;
        layout.Forward.Should().HaveCount(2, "the first column's left tap lands on padding, so it reads nothing");
        var reading = layout.Forward.Single(g => g.Taps.Length == 1);
        reading.Taps.Should().Equal(3);
        reading.Units.Should().Equal(1, 2, 4, 5, 7, 8);
        reading.Units.Select(u => layout.Source(u, 3, backward: false)).Should().Equal(reading.Units.Select(u => layout.PaddedPosition(u) - 1));
        // Input pixel (i, j) feeds output (i, j + 1) through tap 3, except in the last column.
        var feeding = layout.Backward.Single(g => g.Taps.Length == 1);
        feeding.Units.Should().Equal(0, 1, 3, 4, 6, 7);
        feeding.Units.Select(u => layout.Source(u, 3, backward: true)).Should().Equal(feeding.Units.Select(u => layout.PaddedPosition(u) + 1));
        layout.Source(0, 3, backward: false).Should().Be(-1, "pixel 0's left tap lands on the padding: it reads the zero row");
    }
}
