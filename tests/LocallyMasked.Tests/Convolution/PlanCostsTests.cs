using LocallyMasked.Convolution.Planning;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>The planner's cost model: the calibration, the tables per device type, and the grouping of gathered columns.</summary>
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
    public void CudaGetsItsOwnTableAndTheCpuItsMeasurementUnlessTheTableIsAskedFor()
    {
        PlanCosts.For(new Device(DeviceType.CUDA, 0), ScalarType.Float32).Should().BeSameAs(PlanCosts.CudaTable, "CPU timings must not decide for a GPU");
        PlanCosts.For(CPU, ScalarType.Float32).Source.Should().StartWith("measured");
        var before = Environment.GetEnvironmentVariable(PlanCosts.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(PlanCosts.EnvironmentVariable, "table");
            PlanCosts.For(CPU, ScalarType.Float32).Should().BeSameAs(PlanCosts.CpuTable);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PlanCosts.EnvironmentVariable, before);
        }

        PlanCosts.For(CPU, ScalarType.Float32).Source.Should().StartWith("measured");
        try
        {
            LocallyMasked.Convolution.LocallyMaskedConvolution.FixedPlanCosts = true;
            PlanCosts.For(CPU, ScalarType.Float32).Should().BeSameAs(PlanCosts.CpuTable, "runs that must repeat exactly ask for the fixed table");
            PlanCosts.For(new Device(DeviceType.CUDA, 0), ScalarType.Float32).Should().BeSameAs(PlanCosts.CudaTable);
        }
        finally
        {
            LocallyMasked.Convolution.LocallyMaskedConvolution.FixedPlanCosts = false;
        }

        PlanCosts.For(CPU, ScalarType.Float32).Source.Should().StartWith("measured");
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
        Tensor actual;
        PlanCosts.Override = PlanCosts.CudaTable;
        try
        {
            actual = ConvolutionPlanner.Apply(x, weight, bias, mask, mask.clone(), 3, 1);
        }
        finally
        {
            PlanCosts.Override = null;
        }

        LocallyMaskedConv2dTests.MaxAbsDifference(actual, expected).Should().BeLessThan(1e-10, plan.ToString());
        var gradients = autograd.grad(new[] { actual.square().sum() }, new[] { x, weight, bias });
        for (var i = 0; i < 3; i++)
            LocallyMaskedConv2dTests.MaxAbsDifference(gradients[i], expectedGradients[i]).Should().BeLessThan(1e-10, $"{plan}, gradient {i}");
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
        reading.Sources.Should().Equal(reading.Units.Select(u => layout.PaddedPosition(u) - 1));
        // Input pixel (i, j) feeds output (i, j + 1) through tap 3, except in the last column.
        var feeding = layout.Backward.Single(g => g.Taps.Length == 1);
        feeding.Units.Should().Equal(0, 1, 3, 4, 6, 7);
        feeding.Sources.Should().Equal(feeding.Units.Select(u => layout.PaddedPosition(u) + 1));
    }
}
