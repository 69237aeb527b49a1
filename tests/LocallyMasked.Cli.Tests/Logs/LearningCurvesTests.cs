using LocallyMasked.Cli.Logs;

namespace LocallyMasked.Cli.Tests.Logs;

public class LearningCurvesTests
{
    [Fact]
    public void The_y_axis_fits_the_curve_after_its_first_steps_not_the_first_loss()
    {
        // A run like lmconv train's: a running mean that starts at 517 nats and settles between 110 and 92.
        var steps = Enumerable.Range(1, 1000).Select(s => (double)s).ToArray();
        var train = steps.Select(s => 92 + 425 * Math.Exp(-s / 12) + 18 * Math.Exp(-s / 400)).ToArray();
        var test = new[] { 107.0, 104.5, 96.5 };
        var (bottom, top, from) = LearningCurves.YRange(steps, train, test);
        double settled = train.Where((_, i) => steps[i] >= from).Concat(test).Max();
        from.Should().BeApproximately(100.9, 1e-9, "the first tenth of the steps does not set the top");
        top.Should().BeGreaterThan(settled).And.BeLessThan(settled + 0.06 * (settled - train.Min()) + 1e-9);
        bottom.Should().BeLessThan(train.Min()).And.BeGreaterThan(train.Min() - 0.06 * (settled - train.Min()));
        top.Should().BeLessThan(120, "the useful range, not the first step's 517, fills the axis");
    }

    [Fact]
    public void A_flat_or_single_point_curve_gets_a_range_around_it()
    {
        var (bottom, top, _) = LearningCurves.YRange(new[] { 1.0 }, new[] { 50.0 }, Array.Empty<double>());
        bottom.Should().BeLessThan(50);
        top.Should().BeGreaterThan(50);
        var refused = () => LearningCurves.YRange(new[] { 1.0, 2.0 }, new[] { 50.0 }, Array.Empty<double>());
        refused.Should().Throw<ArgumentException>();
    }
}
