using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// A masked convolution prepared for one sampling call: its input cache, its weight as the matrix (k * k * C_in, O) in its
/// mask role's tap order (so that the taps a step can see are a block of rows), and its bias.
/// </summary>
internal sealed class PixelConvolution
{
    private readonly Dictionary<int, Tensor> _slices = new();

    /// <summary>Prepares the convolution; the tensors belong to the caller's dispose scope.</summary>
    /// <param name="module">The convolution.</param>
    /// <param name="role">The mask role the wiring applies it with.</param>
    /// <param name="cache">Its input cache (rows, <paramref name="channels"/>).</param>
    /// <param name="channels">Input channels held in the cache: all of them, or the image channels for the first layer,
    /// whose channel of ones is folded into the per-step bias.</param>
    /// <param name="readsNetworkInput">Whether its input is the network's input, whose cache holds the images.</param>
    /// <param name="tables">The call's step tables.</param>
    public PixelConvolution(LocallyMaskedConv2d module, MaskRole role, Tensor cache, long channels, bool readsNetworkInput, StepTables tables)
    {
        Module = module;
        Role = role;
        Cache = cache;
        Channels = (int)channels;
        ReadsNetworkInput = readsNetworkInput;
        var weight = Arranged(module.EffectiveWeight().detach().narrow(1, 0, channels), tables.TapOrders[role]);
        Bias = module.bias?.detach();
        // The rows of the taps of every range a step uses, as views made once.
        foreach (var (start, length) in tables.Ranges[role].Where(r => r.Length > 0).Distinct())
            _slices[start * 4096 + length] = weight.narrow(0, start * channels, length * channels);
    }

    public LocallyMaskedConv2d Module { get; }

    public MaskRole Role { get; }

    /// <summary>The inputs at the processed pixels, in rows (H * W * N + 1, <see cref="Channels"/>), zero elsewhere.</summary>
    public Tensor Cache { get; }

    /// <summary>Input channels held in the cache.</summary>
    public int Channels { get; }

    /// <summary>Whether the input is the network's input (the images, written after each step's draws).</summary>
    public bool ReadsNetworkInput { get; }

    public Tensor? Bias { get; }

    /// <summary>The per-step bias of its role when the bias depends on the mask, else null.</summary>
    public RoleTerms? Terms { get; set; }

    /// <summary>The weight's rows (length * C, O) for the taps start .. start + length - 1 of the role's tap order.</summary>
    public Tensor Rows(int start, int length) => _slices[start * 4096 + length];

    /// <summary>
    /// A convolution weight (O, C, k, k) as the matrix (k * k * C, O) that multiplies a gathered patch (N, k * k * C) whose
    /// taps come in <paramref name="tapOrder"/> (natural order when null).
    /// </summary>
    public static Tensor Arranged(Tensor weight, int[]? tapOrder = null)
    {
        using var scope = NewDisposeScope();
        long outChannels = weight.shape[0], channels = weight.shape[1];
        var taps = weight.permute(2, 3, 1, 0).reshape(-1, channels, outChannels);
        if (tapOrder is not null) taps = taps.index_select(0, tensor(tapOrder.Select(t => (long)t).ToArray(), ScalarType.Int64, weight.device));
        return taps.reshape(-1, outChannels).contiguous().MoveToOuterDisposeScope();
    }
}
