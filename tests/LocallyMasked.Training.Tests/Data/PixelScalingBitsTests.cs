using LocallyMasked.Training.Data;
using LocallyMasked.Likelihoods;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Data;

public class PixelScalingBitsTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(5)]
    [InlineData(3)]
    [InlineData(1)]
    public void Bytes_land_on_the_bin_centres_of_the_bit_depth(int bits)
    {
        using var scope = NewDisposeScope();
        var bytes = arange(0, 256, ScalarType.Int64).to_type(ScalarType.Byte);
        var signed = PixelScaling.ToSigned(bytes, ScalarType.Float64, bits);
        double top = Math.Pow(2, bits) - 1;
        var values = signed.data<double>().ToArray();
        for (int b = 0; b < 256; b++)
        {
            double level = Math.Floor(b / Math.Pow(2, 8 - bits));
            values[b].Should().BeApproximately(level / top * 2 - 1, 1e-12, $"byte {b} at {bits} bits");
        }
        // They are fixed points of the likelihood's quantization.
        (PixelLikelihood.Quantize(signed, bits) - signed).abs().max().item<double>().Should().BeLessThan(1e-12);
        values.Distinct().Should().HaveCount((int)top + 1);
        var bad = () => PixelScaling.ToSigned(bytes, ScalarType.Float64, 9);
        bad.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("bits");
    }
}
