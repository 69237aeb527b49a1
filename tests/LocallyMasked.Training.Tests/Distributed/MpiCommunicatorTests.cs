using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>What the communicator does without a launcher, and its arithmetic. Collectives: <see cref="MultiProcessTests"/>.</summary>
public class MpiCommunicatorTests
{
    [Fact]
    public void Without_a_launcher_initialization_is_refused_in_one_line_and_MPI_is_not_touched()
    {
        var message = FluentActions.Invoking(() => MpiCommunicator.Initialize(MpiLaunch.None))
            .Should().Throw<MpiUnavailableException>().Which.Message;
        message.Should().StartWith("This process was not started by an MPI launcher").And.Contain("mpiexec -n N").And.NotContain("\n");
        // Had MPI_Init run in this process, a library loaded now would say so.
        MpiLibrary.Load().Native.Initialized(out int initialized).Should().Be(0);
        initialized.Should().Be(0);
    }

    [Fact]
    public void Under_Open_MPI_initialization_is_refused()
    {
        var launch = new MpiLaunch(MpiLauncher.OpenMpi, 0, 2, 0);
        FluentActions.Invoking(() => MpiCommunicator.Initialize(launch))
            .Should().Throw<MpiUnavailableException>().WithMessage("Open MPI is not supported*install MPICH*");
    }

    [Fact]
    public void A_timeout_must_be_positive()
    {
        var launch = new MpiLaunch(MpiLauncher.Pmi, 0, 1, 0);
        FluentActions.Invoking(() => MpiCommunicator.Initialize(launch, TimeSpan.Zero))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("timeout");
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(2, 3)]
    [InlineData(5, 2)]
    [InlineData(10_007, 3)]
    [InlineData(123_316, 16)]
    public void Segments_cover_the_array_in_order_with_lengths_within_one(int count, int parts)
    {
        var segments = Enumerable.Range(0, parts).Select(j => MpiCommunicator.Segment(count, parts, j)).ToArray();
        segments[0].Start.Should().Be(0);
        for (int j = 1; j < parts; j++) segments[j].Start.Should().Be(segments[j - 1].Start + segments[j - 1].Length);
        (segments[^1].Start + segments[^1].Length).Should().Be(count);
        (segments.Max(s => s.Length) - segments.Min(s => s.Length)).Should().BeLessThanOrEqualTo(1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    [InlineData(1003)]
    public void The_vectorized_addition_equals_adding_element_by_element(int length)
    {
        var random = new Random(length);
        var floats = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 7)))).ToArray();
        var floatTerms = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 7)))).ToArray();
        var expected = floats.Zip(floatTerms, (a, b) => a + b).ToArray();
        MpiCommunicator.Add(floats.AsSpan(), floatTerms);
        floats.Should().Equal(expected);

        var doubles = floatTerms.Select(f => (double)f * 1.000001).ToArray();
        var doubleTerms = expected.Select(f => (double)f / 3).ToArray();
        var expectedDoubles = doubles.Zip(doubleTerms, (a, b) => a + b).ToArray();
        MpiCommunicator.Add(doubles.AsSpan(), doubleTerms);
        doubles.Should().Equal(expectedDoubles);
    }
}
