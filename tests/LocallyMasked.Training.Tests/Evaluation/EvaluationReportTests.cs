using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Training.Tests.Evaluation;

public class EvaluationReportTests
{
    [Fact]
    public void Bits_per_dimension_divides_by_dimensions_and_ln2()
    {
        var report = new EvaluationReport(new[] { 1.0 }, 1.0, 1, 3072);
        report.BitsPerDimension(3072 * Math.Log(2) * 2.5).Should().BeApproximately(2.5, 1e-12);
        new EvaluationReport(new[] { 1.0 }, 1.0, 1, 5).BitsPerDimension(10.0 * Math.Log(2)).Should().BeApproximately(2.0, 1e-12);
    }
}
