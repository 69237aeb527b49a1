using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// How a state dict fits a module, checked whole before anything is copied: keys the module has and the dict lacks,
/// keys the dict has and the module lacks, keys whose shapes differ, and integer values for floating-point entries. A
/// leading <c>module.</c> (PyTorch's data-parallel wrapper) is removed from every key. The model's own loader and the
/// checkpoint loader report the same findings in their own exception types.
/// </summary>
internal sealed class StateDictFit
{
    /// <summary>The key prefix added by PyTorch's DataParallel wrapper.</summary>
    public const string DataParallelPrefix = "module.";

    private readonly Dictionary<string, Tensor> _incoming;

    private StateDictFit(Dictionary<string, Tensor> incoming, List<string> missing, List<string> unexpected,
        List<(string, long[], long[])> misShaped, List<(string, ScalarType)> notFloatingPoint, List<string> keyProblems)
    {
        _incoming = incoming;
        Missing = missing;
        Unexpected = unexpected;
        MisShaped = misShaped;
        NotFloatingPoint = notFloatingPoint;
        Problems = missing.Select(k => $"missing: {k}").Concat(unexpected.Select(k => $"unexpected: {k}")).Concat(keyProblems).ToArray();
    }

    /// <summary>Keys the module has and the dict lacks, in ordinal order.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the dict has and the module lacks, in ordinal order.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys whose shapes differ: the dict's shape and the module's, in ordinal order of the keys.</summary>
    public IReadOnlyList<(string Key, long[] Given, long[] Expected)> MisShaped { get; }

    /// <summary>Keys of floating-point module entries whose values are not floating point, with their dtypes.</summary>
    public IReadOnlyList<(string Key, ScalarType DType)> NotFloatingPoint { get; }

    /// <summary>Every finding as one line ("missing: KEY", "unexpected: KEY", "shape: ...", "dtype: ...").</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Whether the dict fits: no finding.</summary>
    public bool Fits => Problems.Count == 0;

    /// <summary>Compares <paramref name="stateDict"/> with the state dict of <paramref name="module"/>.</summary>
    /// <param name="module">The module to load into.</param>
    /// <param name="stateDict">Weights by PyTorch name.</param>
    public static StateDictFit Of(nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stateDict);
        var incoming = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in stateDict) incoming[WithoutPrefix(key)] = value;

        var target = module.state_dict();
        var missing = target.Keys.Where(k => !incoming.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = incoming.Keys.Where(k => !target.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var misShaped = new List<(string, long[], long[])>();
        var notFloatingPoint = new List<(string, ScalarType)>();
        var keyProblems = new List<string>();
        foreach (var (key, value) in incoming.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!target.TryGetValue(key, out var t)) continue;
            if (!t.shape.SequenceEqual(value.shape))
            {
                misShaped.Add((key, value.shape, t.shape));
                keyProblems.Add($"shape: {key} is ({string.Join(", ", value.shape)}), the model's ({string.Join(", ", t.shape)})");
            }
            else if (!value.is_floating_point() && t.is_floating_point())
            {
                notFloatingPoint.Add((key, value.dtype));
                keyProblems.Add($"dtype: {key} is {value.dtype}, expected floating point");
            }
        }
        return new StateDictFit(incoming, missing, unexpected, misShaped, notFloatingPoint, keyProblems);
    }

    /// <summary>
    /// Copies the values into the module's parameters and buffers (converted to their dtype and device; parameters keep
    /// requires_grad). Call only when <see cref="Fits"/>.
    /// </summary>
    /// <param name="module">The module the fit was computed for.</param>
    /// <exception cref="InvalidOperationException">The dict does not fit.</exception>
    public void CopyInto(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!Fits) throw new InvalidOperationException("The state dict does not fit the module; nothing may be copied.");
        var target = module.state_dict();
        using (no_grad())
        {
            foreach (var (key, value) in _incoming) target[key].copy_(value);
        }
    }

    /// <summary>A key without the data-parallel prefix.</summary>
    /// <param name="key">A state-dict key.</param>
    public static string WithoutPrefix(string key) =>
        key.StartsWith(DataParallelPrefix, StringComparison.Ordinal) ? key[DataParallelPrefix.Length..] : key;
}
