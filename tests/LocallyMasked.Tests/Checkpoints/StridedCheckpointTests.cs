using System.Runtime.CompilerServices;
using System.Text.Json;
using LocallyMasked.Checkpoints;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints;

/// <summary>
/// Valid torch.save files whose tensors are views (transposed, sliced at an offset, expanded with zero strides, permuted,
/// several sharing one storage), written by real PyTorch (Fixtures/make_strided_checkpoints.py): they are read with
/// their storage offsets and strides, giving the values torch itself reads back.
/// </summary>
public class StridedCheckpointTests
{
    private static string Fixture(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name);

    private static string FidelityFixture(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "..", "Fidelity", "Fixtures", "checkpoints", name);

    [Fact]
    public void Views_of_every_kind_read_as_torch_reads_them()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Fixture("strided_views.json")));
        var state = PixelCnnCheckpoint.ReadPyTorchStateDict(Fixture("strided_views.pth"));
        state.Keys.Should().BeEquivalentTo(expected.RootElement.EnumerateObject().Select(p => p.Name));
        foreach (var entry in expected.RootElement.EnumerateObject())
        {
            var tensor = state[entry.Name];
            tensor.shape.Should().Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), entry.Name);
            tensor.dtype.Should().Be(entry.Name == "permuted" ? ScalarType.Float64 : ScalarType.Float32, entry.Name);
            var values = tensor.to(ScalarType.Float64).contiguous().data<double>().ToArray();
            values.Should().Equal(entry.Value.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()), entry.Name);
        }
        // The fixture holds what it claims: views with offsets and strides that are not a contiguous layout.
        var transposed = expected.RootElement.GetProperty("transposed").GetProperty("stride").EnumerateArray().Select(e => e.GetInt64());
        transposed.Should().Equal(1, 4);
        expected.RootElement.GetProperty("offset").GetProperty("offset").GetInt64().Should().Be(5);
        expected.RootElement.GetProperty("expanded").GetProperty("stride").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(0, 0);
    }

    [Fact]
    public void A_checkpoint_of_the_authors_code_with_strided_weights_loads_the_same_model_as_the_contiguous_one()
    {
        using var strided = PixelCnnCheckpoint.LoadModel(Fixture("strided_m01.pth"), new ModelLoadOptions { DType = ScalarType.Float64 });
        using var plain = PixelCnnCheckpoint.LoadModel(FidelityFixture("m01_bin_none_k3d2.pth"), new ModelLoadOptions { DType = ScalarType.Float64 });
        strided.LocallyMaskedPixelCnn.Config.Should().Be(plain.LocallyMaskedPixelCnn.Config);
        strided.Orders.Should().Equal(plain.Orders);
        var expected = plain.Model.Module.state_dict();
        foreach (var (key, value) in strided.Model.Module.state_dict())
            value.equal(expected[key]).all().item<bool>().Should().BeTrue(key);
    }
}
