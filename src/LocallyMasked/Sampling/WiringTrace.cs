using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The network's wiring as the list of its hook calls, recorded by evaluating <c>LocallyMaskedPixelCnn.Evaluate</c> once
/// on placeholders of zero rows: which layers it applies, in which mask roles, in what order, and which earlier call
/// produced each input. The cached sampler prepares its layers from it and checks every step against it (a step
/// evaluates the same wiring, so it makes the same calls).
/// </summary>
internal sealed class WiringTrace : ILayerEvaluator
{
    /// <summary>The producer index of the network's input.</summary>
    public const int NetworkInput = -1;

    private readonly List<TracedCall> _calls = new();
    private readonly Dictionary<Tensor, int> _producers = new(ReferenceEqualityComparer.Instance);

    private WiringTrace()
    {
    }

    /// <summary>The calls in the order the wiring makes them.</summary>
    public IReadOnlyList<TracedCall> Calls => _calls;

    /// <summary>Records the wiring of <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <exception cref="InvalidOperationException">The wiring computes a value outside the hooks, which a per-pixel evaluation could not follow.</exception>
    public static WiringTrace Of(LocallyMaskedPixelCnn model)
    {
        using var scope = NewDisposeScope();
        var trace = new WiringTrace();
        var input = empty(0, model.Config.ImageChannels + 1);
        trace._producers[input] = NetworkInput;
        var output = model.Evaluate(input, trace);
        if (trace.ProducerOf(output) != trace._calls.Count - 1 || trace._calls[^1].Kind != HookKind.Output)
            throw new InvalidOperationException("The wiring's result must be its last hook call, the output head.");
        trace._producers.Clear();
        return trace;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role) =>
        Add(HookKind.Convolve, conv, role, conv.OutChannels, input);

    public Tensor ConcatElu(Tensor input) => Add(HookKind.ConcatElu, null, default, 2 * input.shape[1], input);

    public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) =>
        Add(HookKind.Normalize, null, role, input.shape[1], input, normalization);

    public Tensor Dropout(GatedResidualBlock block, Tensor input) => Add(HookKind.Dropout, block, default, input.shape[1], input);

    public Tensor Skip(Tensor t, NetworkInNetwork layer, Tensor skip) => Add(HookKind.Skip, layer, default, t.shape[1], t, skip);

    public Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role) =>
        Add(HookKind.Gate, null, role, u.shape[1], u, gate, normalization);

    public Tensor Output(NetworkInNetwork layer, Tensor u) => Add(HookKind.Output, layer, default, layer.OutChannels, u);

    private Tensor Add(HookKind kind, nn.Module? layer, MaskRole role, long channels, Tensor input, FeatureNormalization normalization = default) =>
        Add(kind, layer, role, channels, new[] { input }, normalization);

    private Tensor Add(HookKind kind, nn.Module? layer, MaskRole role, long channels, Tensor first, Tensor second, FeatureNormalization normalization = default) =>
        Add(kind, layer, role, channels, new[] { first, second }, normalization);

    private Tensor Add(HookKind kind, nn.Module? layer, MaskRole role, long channels, Tensor[] inputs, FeatureNormalization normalization)
    {
        _calls.Add(new TracedCall(kind, layer, role, normalization, inputs.Select(ProducerOf).ToArray(), channels));
        var value = empty(0, channels);
        _producers[value] = _calls.Count - 1;
        return value;
    }

    private int ProducerOf(Tensor value) => _producers.TryGetValue(value, out int index)
        ? index
        : throw new InvalidOperationException(
            "The wiring passed a hook a value that no hook produced: every operation of Evaluate must go through ILayerEvaluator, "
            + "or the cached sampler's per-pixel evaluation cannot follow it.");
}

/// <summary>One hook call of the wiring.</summary>
/// <param name="Kind">Which hook.</param>
/// <param name="Layer">The module it applies (convolution, skip or output layer, block of a dropout), or null.</param>
/// <param name="Role">The mask role (convolution, normalization, gate).</param>
/// <param name="Normalization">The normalization scheme (normalization, gate).</param>
/// <param name="Inputs">The index of the call that produced each tensor argument (<see cref="WiringTrace.NetworkInput"/> for the input).</param>
/// <param name="Channels">Channels of the result.</param>
internal sealed record TracedCall(HookKind Kind, nn.Module? Layer, MaskRole Role, FeatureNormalization Normalization, int[] Inputs, long Channels);

/// <summary>The hooks of <see cref="ILayerEvaluator"/>.</summary>
internal enum HookKind
{
    Convolve,
    ConcatElu,
    Normalize,
    Dropout,
    Skip,
    Gate,
    Output,
}
