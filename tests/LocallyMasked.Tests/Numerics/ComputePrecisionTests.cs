using System.Text.Json;
using LocallyMasked.Numerics;
using TorchSharp;

namespace LocallyMasked.Tests.Numerics;

/// <summary>The compute precision's names, JSON form and checks, and the detection of bf16 units from CPU flags.</summary>
public sealed class ComputePrecisionTests
{
    [Fact]
    public void NamesParseToTheirPrecisionAndUnknownNamesAreAnErrorListingTheNames()
    {
        ComputePrecision.Parse("32").Should().BeSameAs(ComputePrecision.Float32);
        ComputePrecision.Parse("bf16-mixed").Should().BeSameAs(ComputePrecision.BFloat16Mixed);
        ComputePrecision.All.Select(p => p.Name).Should().Equal("32", "bf16-mixed");
        ComputePrecision.TryParse("fp16", out var none).Should().BeFalse();
        none.Should().BeNull();
        var act = () => ComputePrecision.Parse("bf16");
        act.Should().Throw<ArgumentException>().WithParameterName("name").WithMessage("*'32' or 'bf16-mixed'*'bf16'*");
        ComputePrecision.BFloat16Mixed.ToString().Should().Be("bf16-mixed");
        (ComputePrecision.Float32.ProductType, ComputePrecision.BFloat16Mixed.ProductType).Should().Be((null, torch.ScalarType.BFloat16));
    }

    [Fact]
    public void APrecisionRoundTripsThroughJsonByName()
    {
        foreach (var precision in ComputePrecision.All)
        {
            var json = JsonSerializer.Serialize(precision);
            json.Should().Be($"\"{precision.Name}\"");
            JsonSerializer.Deserialize<ComputePrecision>(json).Should().BeSameAs(precision);
        }
        var unknown = () => JsonSerializer.Deserialize<ComputePrecision>("\"tf32\"");
        unknown.Should().Throw<JsonException>().WithMessage("*'tf32'*");
        var number = () => JsonSerializer.Deserialize<ComputePrecision>("16");
        number.Should().Throw<JsonException>();
    }

    [Fact]
    public void MixedPrecisionNeedsFloat32ParametersAndFloat32TakesAny()
    {
        ComputePrecision.BFloat16Mixed.CheckParameters(torch.ScalarType.Float32, "p");
        ComputePrecision.Float32.CheckParameters(torch.ScalarType.Float64, "p");
        var act = () => ComputePrecision.BFloat16Mixed.CheckParameters(torch.ScalarType.Float64, "p");
        act.Should().Throw<ArgumentException>().WithParameterName("p").WithMessage("*bf16-mixed*Float64*'32'*");
    }

    [Fact]
    public void TheCpuFlagsSayWhetherThereAreBFloat16Units()
    {
        const string x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n";
        BFloat16Support.FromCpuInfo(x86).Should().Be((true, "cpu flags avx512_bf16"));
        BFloat16Support.FromCpuInfo(x86.Replace(" avx512_bf16", "") + "flags\t\t: amx_bf16\n")!.Value.Native.Should().BeFalse("the first flags line is read");
        BFloat16Support.FromCpuInfo("flags\t: fpu avx2 amx_bf16 amx_tile\n").Should().Be((true, "cpu flags amx_bf16"));
        BFloat16Support.FromCpuInfo("flags\t: fpu sse2 avx2 avx512f\n").Should().Be((false, "no avx512_bf16 or amx_bf16 cpu flag"));
        BFloat16Support.FromCpuInfo("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n").Should().Be((true, "cpu feature bf16"));
        BFloat16Support.FromCpuInfo("processor\t: 0\nFeatures\t: fp asimd\n")!.Value.Native.Should().BeFalse();
        BFloat16Support.FromCpuInfo("processor\t: 0\nisa\t: rv64imafdc\n").Should().BeNull("another architecture says nothing: measure");
    }

    [Fact]
    public void ThisMachinesCpuIsDetectedAsItsFlagsSay()
    {
        var text = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        var native = BFloat16Support.IsNative(torch.CPU, out var evidence);
        evidence.Should().NotBeNullOrEmpty();
        if (BFloat16Support.FromCpuInfo(text) is { } flags) (native, evidence).Should().Be(flags);
    }
}
