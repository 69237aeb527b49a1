using LocallyMasked.Training.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Runtime;

public class NnpackConvolutionsTests
{
    [Fact]
    public void Turning_nnpack_off_clears_libtorchs_flag_and_leaves_convolutions_exact()
    {
        using var scope = NewDisposeScope();
        var generator = new torch.Generator(7);
        // A batch of one with a small kernel: the shape libtorch would send to NNPACK.
        var input = randn(new long[] { 1, 3, 9, 9 }, dtype: ScalarType.Float32, generator: generator);
        var weight = randn(new long[] { 4, 3, 3, 3 }, dtype: ScalarType.Float32, generator: generator);
        // The reference: the same convolution as a product of unfolded patches, in float64.
        var columns = nn.functional.unfold(input.to(ScalarType.Float64), 3, padding: 1);                     // (1, 27, 81)
        var expected = weight.to(ScalarType.Float64).reshape(4, 27).matmul(columns).reshape(1, 4, 9, 9);

        if (!OperatingSystem.IsLinux())
        {
            NnpackConvolutions.Disable();
            return;
        }
        NnpackConvolutions.Disable().Should().BeTrue("libtorch_cpu.so exports the flag's functions on Linux");
        NnpackConvolutions.Enabled.Should().BeFalse();
        var after = nn.functional.conv2d(input, weight, padding: new long[] { 1, 1 });
        after.to(ScalarType.Float64).allclose(expected, rtol: 1e-5, atol: 1e-5).Should().BeTrue();
    }
}
