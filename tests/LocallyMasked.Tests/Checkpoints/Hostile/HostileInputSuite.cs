using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.TestSupport;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints.Hostile;

/// <summary>
/// The model package's hostile-input suite: files, pickles and sizes an attacker or a careless user could give, each
/// made by the test (no large file is committed) and each refused in one line with the expected exception and message,
/// within <see cref="HostileCases.TimeLimit"/> and bounded memory (<see cref="HostileCases"/>). The table is split by
/// family (pickles, storages, sizes and weights); to add a case, add a row to one of them.
/// </summary>
public sealed partial class HostileInputSuite
{
    private static readonly Lazy<IReadOnlyDictionary<string, HostileCase>> Table = new(() =>
        PickleCases().Concat(StorageCases()).Concat(SizeAndWeightCases()).ToDictionary(c => c.Name));

    /// <summary>The tiny model whose weights the valid parts of the files hold.</summary>
    internal static readonly PixelCnnConfig TinyGrey = new()
    {
        ImageChannels = 1, Height = 6, Width = 6, Filters = 4, ResidualBlocks = 1,
        Likelihood = LikelihoodKind.GreyLogisticMixture, MixtureComponents = 2,
    };

    private static readonly Lazy<Dictionary<string, Tensor>> TinyWeights = new(() =>
    {
        manual_seed(3);
        using var model = new LocallyMaskedPixelCnn(TinyGrey, dtype: ScalarType.Float32);
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    });

    /// <summary>The weights of the tiny model (float32), shared by the cases; not to be changed.</summary>
    internal static IReadOnlyDictionary<string, Tensor> Weights => TinyWeights.Value;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var name in Table.Value.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_hostile_input_is_refused_in_one_line_quickly_and_within_bounded_memory(string name) => HostileCases.Run(Table.Value[name]);

    [Fact]
    public void The_valid_file_the_cases_start_from_loads_with_its_weights()
    {
        // The cases change one thing in this file: it must load, or their refusals would prove nothing.
        var path = Path.Combine(Path.GetTempPath(), $"lm-hostile-valid-{Guid.NewGuid():N}.pth");
        try
        {
            TorchSaveFiles.WriteZip(path, TorchSaveFiles.Checkpoint(Weights, ("args", p => Args(p, ("nr_filters", q => q.Int(4))))));
            using var loaded = PixelCnnCheckpoint.LoadModel(path, Options);
            loaded.LocallyMaskedPixelCnn.Config.Should().Be(TinyGrey);
            foreach (var (key, value) in loaded.Model.Module.state_dict())
                value.to(ScalarType.Float32).equal(Weights[key]).all().item<bool>().Should().BeTrue(key);
            TorchSaveFiles.WriteLegacy(path, TorchSaveFiles.Checkpoint(Weights));
            using var legacy = PixelCnnCheckpoint.LoadModel(path, Options);
            legacy.Model.Module.state_dict()["nin_out.lin_a.bias"].to(ScalarType.Float32).equal(Weights["nin_out.lin_a.bias"]).all().item<bool>().Should().BeTrue();
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The options of every load: the template gives the size that a file without <c>args['dataset']</c> does not record.</summary>
    internal static ModelLoadOptions Options => new() { Template = TinyGrey, DType = ScalarType.Float32 };

    /// <summary>A case that writes a zip-format checkpoint of the tiny model with extra entries and loads it.</summary>
    private static HostileCase ZipCase(string name, Type? exception, string fragment, params (string Key, Action<PickleBytes> Value)[] extra) =>
        new(name, folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            TorchSaveFiles.WriteZip(path, TorchSaveFiles.Checkpoint(Weights, extra));
            return () => PixelCnnCheckpoint.LoadModel(path, Options).Dispose();
        }, exception, fragment);

    /// <summary>A case whose data.pkl is the given pickle (no storages).</summary>
    private static HostileCase PickleCase(string name, string fragment, Func<PickleBytes, PickleBytes> pickle) =>
        new(name, folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            TorchSaveFiles.WriteZip(path, new TorchSaveFiles.Content(pickle(new PickleBytes().Proto()).ToArray(), Array.Empty<(string, long, byte[])>()));
            return () => PixelCnnCheckpoint.ReadPyTorchStateDict(path);
        }, typeof(CheckpointException), fragment);

    /// <summary>Writes an args dict: <c>{key: value, ...}</c>.</summary>
    internal static void Args(PickleBytes p, params (string Key, Action<PickleBytes> Value)[] entries)
    {
        p.EmptyDict().Mark();
        foreach (var (key, value) in entries)
        {
            p.Str(key);
            value(p);
        }
        p.SetItems();
    }

    /// <summary>A list nested <paramref name="depth"/> deep as Python writes it: every list, then every APPEND.</summary>
    internal static void NestedList(PickleBytes p, int depth)
    {
        for (int i = 0; i < depth; i++) p.EmptyList();
        for (int i = 1; i < depth; i++) p.Append();
    }

    /// <summary>
    /// A list nested <paramref name="depth"/> deep built from the outside in through the memo: each list is appended to its
    /// parent while still empty, so no list is more than one deep when it is added (a depth check made while building does
    /// not see the nesting).
    /// </summary>
    internal static void NestedListTopDown(PickleBytes p, int depth, uint memo)
    {
        p.EmptyList().Put(memo);
        for (uint i = 1; i < depth; i++) p.Get(memo + i - 1).EmptyList().Put(memo + i).Append().Op('0');
    }
}
