using System.IO.Compression;
using LocallyMasked.Checkpoints;
using LocallyMasked.Models;
using LocallyMasked.Tests.Checkpoints.Hostile;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints;

/// <summary>
/// Each limit of <see cref="CheckpointLimits"/> refuses a file just beyond it, naming itself, and the same file loads
/// once the limit is raised; non-finite weights load only when <see cref="ModelLoadOptions.AllowNonFiniteWeights"/> says so.
/// </summary>
public sealed class CheckpointLimitsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lm-limits-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(TorchSaveFiles.Content content, CompressionLevel storageLevel = CompressionLevel.NoCompression)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.pth");
        TorchSaveFiles.WriteZip(path, content, storageLevel: storageLevel);
        return path;
    }

    private static ModelLoadOptions With(CheckpointLimits limits) => HostileInputSuite.Options with { Limits = limits };

    [Fact]
    public void The_nesting_depth_limit_names_itself_and_raising_it_loads_the_file()
    {
        var path = Write(TorchSaveFiles.Checkpoint(HostileInputSuite.Weights, ("optimizer_state_dict", p => HostileInputSuite.NestedList(p, 150))));
        var refused = () => PixelCnnCheckpoint.LoadModel(path, HostileInputSuite.Options);
        refused.Should().Throw<CheckpointException>().WithMessage("*more than 100 deep*CheckpointLimits.MaxNestingDepth (now 100) raises the limit*");
        using var loaded = PixelCnnCheckpoint.LoadModel(path, With(CheckpointLimits.Default with { MaxNestingDepth = 150 }));
        loaded.LocallyMaskedPixelCnn.Config.Should().Be(HostileInputSuite.TinyGrey);
    }

    [Fact]
    public void The_pickle_size_and_value_limits_name_themselves_and_the_defaults_load_the_file()
    {
        var path = Write(TorchSaveFiles.Checkpoint(HostileInputSuite.Weights));
        long pickleBytes = TorchSaveFiles.Checkpoint(HostileInputSuite.Weights).Pickle.Length;
        using (PixelCnnCheckpoint.LoadModel(path, HostileInputSuite.Options)) { }
        using (PixelCnnCheckpoint.LoadModel(path, With(CheckpointLimits.Default with { MaxPickleBytes = pickleBytes }))) { }
        var bytes = () => PixelCnnCheckpoint.LoadModel(path, With(CheckpointLimits.Default with { MaxPickleBytes = pickleBytes - 1 }));
        bytes.Should().Throw<CheckpointException>().WithMessage("*CheckpointLimits.MaxPickleBytes*");
        var values = () => PixelCnnCheckpoint.LoadModel(path, With(CheckpointLimits.Default with { MaxPickleValues = 1000 }));
        values.Should().Throw<CheckpointException>().WithMessage("*more than 1000 values*CheckpointLimits.MaxPickleValues (now 1000)*");
    }

    [Fact]
    public void Compressed_storages_load_within_the_inflation_limit_and_are_refused_beyond_it()
    {
        // One storage of 4 MB of zeros deflates to a few kilobytes: a small zip bomb.
        var pickle = new PickleBytes().Proto().OrderedDict().Mark().Str("zeros").Tensor("0", 1 << 20, 0, new long[] { 1 << 20 }, new long[] { 1 }).SetItems().Stop();
        var path = Write(new TorchSaveFiles.Content(pickle.ToArray(), new[] { ("0", 1L << 20, new byte[4 << 20]) }), CompressionLevel.Optimal);
        new FileInfo(path).Length.Should().BeLessThan(1 << 20);
        var zeros = PixelCnnCheckpoint.ReadPyTorchStateDict(path)["zeros"];
        (zeros.numel(), zeros.abs().sum().item<float>()).Should().Be((1L << 20, 0f));
        var refused = () => PixelCnnCheckpoint.ReadPyTorchStateDict(path, CheckpointLimits.Default with { MaxInflatedStorageBytes = 1 << 20 });
        refused.Should().Throw<CheckpointException>().WithMessage("*more than the file's*CheckpointLimits.MaxInflatedStorageBytes*");
    }

    [Fact]
    public void The_image_pixel_limit_covers_the_size_a_file_records_and_the_size_the_caller_asks_for()
    {
        var path = Write(TorchSaveFiles.Checkpoint(HostileInputSuite.Weights, ("args", p => HostileInputSuite.Args(p, ("dataset", q => q.Str("mnist"))))));
        using (var mnist = PixelCnnCheckpoint.LoadModel(path, HostileInputSuite.Options))
            mnist.LocallyMaskedPixelCnn.Config.Height.Should().Be(28);
        var recorded = () => PixelCnnCheckpoint.LoadModel(path, With(CheckpointLimits.Default with { MaxImagePixels = 28 * 28 - 1 }));
        recorded.Should().Throw<CheckpointException>().WithMessage("*28x28 images (784 pixels), more than CheckpointLimits.MaxImagePixels (783)*");
        var asked = () => PixelCnnCheckpoint.LoadModel(path, HostileInputSuite.Options with { ImageSize = (2000, 2000) });
        asked.Should().Throw<CheckpointException>().WithMessage("*2000x2000 images (4000000 pixels)*");
    }

    [Fact]
    public void Non_finite_weights_load_when_the_caller_allows_them_and_keep_their_values()
    {
        var weights = HostileInputSuite.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        weights["nin_out.lin_a.bias"][0] = tensor(float.PositiveInfinity);
        weights["nin_out.lin_a.bias"][1] = tensor(float.NaN);
        var path = Write(TorchSaveFiles.Checkpoint(weights));
        var refused = () => PixelCnnCheckpoint.LoadModel(path, HostileInputSuite.Options);
        refused.Should().Throw<CheckpointException>().WithMessage("*2 weights that are NaN or infinite, in 'nin_out.lin_a.bias' (2 of 6 values)*AllowNonFiniteWeights*");
        using var loaded = PixelCnnCheckpoint.LoadModel(path, HostileInputSuite.Options with { AllowNonFiniteWeights = true });
        var bias = loaded.Model.Module.state_dict()["nin_out.lin_a.bias"];
        (float.IsPositiveInfinity(bias[0].item<float>()), float.IsNaN(bias[1].item<float>())).Should().Be((true, true));

        using var model = new LocallyMaskedPixelCnn(HostileInputSuite.TinyGrey, dtype: ScalarType.Float32);
        var into = () => PixelCnnCheckpoint.Load(model, path);
        into.Should().Throw<CheckpointException>().WithMessage("*'nin_out.lin_a.bias' (2 of 6 values)*");
        PixelCnnCheckpoint.Load(model, path, allowNonFiniteWeights: true);
        float.IsNaN(model.state_dict()["nin_out.lin_a.bias"][1].item<float>()).Should().BeTrue();
    }

    [Fact]
    public void Limits_out_of_their_range_are_refused_naming_the_limit()
    {
        var depth = () => CheckpointLimits.Default with { MaxNestingDepth = 0 };
        depth.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*CheckpointLimits.MaxNestingDepth must be between 1 and 10000, got 0*");
        var bytes = () => CheckpointLimits.Default with { MaxPickleBytes = 1L << 40 };
        bytes.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MaxPickleBytes");
        var pixels = () => CheckpointLimits.Default with { MaxImagePixels = -1 };
        pixels.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MaxImagePixels");
    }
}
