using LocallyMasked.Training.Data;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Data;

public sealed class PixelScalingTests
{
    [Fact]
    public void BytesMapToMinusOneAndOneAtTheEndsAndBackExactly()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        using var bytes = tensor(all, ScalarType.Byte);
        using var signed = PixelScaling.ToSigned(bytes, ScalarType.Float64);
        var values = signed.data<double>().ToArray();
        for (int i = 0; i < 256; i++) values[i].Should().BeApproximately(i / 255.0 * 2 - 1, 1e-12);
        using var back = PixelScaling.ToBytes(signed);
        back.data<byte>().ToArray().Should().Equal(all);
    }

    [Fact]
    public void BinarizationIsBernoulliInTheIntensity()
    {
        // Pixel value 51 has intensity 0.2: with 20,000 independent uniforms about 20% must come out +1.
        const int n = 20_000;
        using var bytes = full(new long[] { n }, 51, ScalarType.Byte);
        var draws = new float[n];
        new LocallyMasked.Training.SeededRandom(5).FillUniform(draws);
        using var uniforms = tensor(draws);
        using var binary = PixelScaling.Binarize(bytes, uniforms);
        var v = binary.data<float>().ToArray();
        v.Should().OnlyContain(x => x == 1f || x == -1f);
        double fraction = v.Count(x => x == 1f) / (double)n;
        fraction.Should().BeApproximately(0.2, 4 * Math.Sqrt(0.2 * 0.8 / n));

        // Black pixels are always -1 and white ones always +1.
        using var ends = tensor(new byte[] { 0, 255 }, ScalarType.Byte);
        using var u = tensor(new float[] { 0f, 0.999f });
        using var b = PixelScaling.Binarize(ends, u);
        b.data<float>().ToArray().Should().Equal(-1f, 1f);
    }
}
