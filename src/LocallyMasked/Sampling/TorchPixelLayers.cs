using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>The per-pixel evaluator with torch operations between the products: any device and dtype.</summary>
internal sealed class TorchPixelLayers : PixelLayers
{
    private readonly Tensor _signs;
    private readonly Dictionary<long, Tensor> _ponoScales = new();
    // Kept alive by this object for the whole call: TorchSharp's implicit double -> Scalar conversions create a Scalar
    // that nothing references during the native call, which a collection may free (docs/architecture.md, "Scalars and native calls").
    private readonly Scalar _one = 1.0.ToScalar();

    public TorchPixelLayers(LocallyMaskedPixelCnn model, StepTables tables, ComputePrecision precision) : base(model, tables, precision)
    {
        var dtype = model.DType;
        var device = model.Device;
        // concat_elu's [x, -x] as one broadcast product with (+1, -1).
        _signs = tensor(new[] { 1.0, -1.0 }, new long[] { 2, 1 }, dtype, device);
        // PONO's factor sqrt((C-1)/C) as layer_norm's weight, for every width the wiring normalizes.
        foreach (var call in Trace.Calls.Where(c => c.Kind is HookKind.Normalize or HookKind.Gate && c.Normalization == FeatureNormalization.Pono))
        {
            if (_ponoScales.ContainsKey(call.Channels)) continue;
            using var scale = Math.Sqrt(Shrink(call.Channels)).ToScalar();
            _ponoScales[call.Channels] = full(new long[] { call.Channels }, scale, dtype, device);
        }
    }

    public override void Dispose()
    {
        _one.Dispose();
        base.Dispose();
    }

    public override Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        int call = Next(HookKind.Convolve, conv);
        var prepared = Prepared(conv);
        // The first layer's input (the pixel) is written after sampling: its type-A mask hides the centre.
        if (!prepared.ReadsNetworkInput)
        {
            prepared.Cache.index_copy_(0, Tables.WriteRows[Step], input);
            Lap(StepPhase.Write, 1);
        }
        var bias = BiasOf(prepared);
        var (start, length) = Tables.Ranges[prepared.Role][Step];
        if (length == 0)
        {
            // Every tap hidden (the first layer at the first pixel): the bias alone.
            var alone = zeros(Batch, conv.OutChannels, Model.DType, Model.Device);
            return Produced(call, bias is null ? alone : alone.add_(bias, _one));
        }
        var patch = prepared.Cache.index_select(0, Tables.GatherRows[prepared.Role][Step]!).view(Batch, -1);
        Lap(StepPhase.Gather, 1);
        var weight = prepared.Rows(start, length);
        var output = bias is null ? Product(patch, weight) : Product(bias, patch, weight);
        Lap(StepPhase.Product, 1);
        return Produced(call, output);
    }

    public override Tensor ConcatElu(Tensor input) => Produced(Next(HookKind.ConcatElu), ConcatEluOf(input));

    public override Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) =>
        Produced(Next(HookKind.Normalize), NormalizeOf(input, normalization, role));

    public override Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role)
    {
        int call = Next(HookKind.Gate);
        long filters = Trace.Calls[call].Channels;
        var value = NormalizeOf(gate.narrow(1, 0, filters), normalization, role);
        var sigmoid = gate.narrow(1, filters, filters).sigmoid();
        var output = u.addcmul(value, sigmoid, _one);
        Lap(StepPhase.Elementwise, 2);
        return Produced(call, output);
    }

    public override Tensor Output(NetworkInNetwork layer, Tensor u)
    {
        int call = Next(HookKind.Output, layer);
        var activated = u.elu(_one, _one, _one);
        Lap(StepPhase.Elementwise, 1);
        var parameters = Product(OutputBias, activated, OutputWeight);
        Lap(StepPhase.Product, 1);
        return Produced(call, parameters);
    }

    private protected override void ComputeSkips(SkipGroup group, Tensor[] inputs)
    {
        var features = ConcatEluOf(stack(inputs, 0));
        Lap(StepPhase.Elementwise, 1);
        // bmm and add rather than baddbmm: TorchSharp 0.107's Tensor.baddbmm hands its operands to the native call in
        // another order than the native function takes them.
        group.Outputs = BatchedProduct(features, group.Weights).add_(group.Bias, _one);
        Lap(StepPhase.Product, 2);
    }

    private protected override Tensor AddSkip(int call, Tensor t, SkipGroup group, int position)
    {
        var output = t.add(group.Outputs[position], _one);
        Lap(StepPhase.Elementwise, 1);
        return output;
    }

    /// <summary>elu([x, -x]) over the channels (dimension -1) of (..., C) features: (..., 2C).</summary>
    private Tensor ConcatEluOf(Tensor x)
    {
        var doubled = x.unsqueeze(-2) * _signs;
        var result = doubled.flatten(-2).elu_(_one, _one, _one);
        Lap(StepPhase.Elementwise, 2);
        return result;
    }

    private Tensor NormalizeOf(Tensor x, FeatureNormalization normalization, MaskRole role)
    {
        var result = normalization switch
        {
            // PONO's unbiased variance as one layer_norm whose weight carries the factor sqrt((C-1)/C)
            // (PositionalNormalization.NormalizeLastDimension, with the multiplication folded in).
            FeatureNormalization.Pono => nn.functional.layer_norm(x, new[] { x.shape[^1] }, _ponoScales[x.shape[^1]], null,
                PositionalNormalization.Epsilon * Shrink(x.shape[^1])),
            FeatureNormalization.OrderRescale => x.div(Tables.VisibleTaps[role][Step]),
            _ => x,
        };
        if (normalization is FeatureNormalization.Pono or FeatureNormalization.OrderRescale) Lap(StepPhase.Elementwise, 1);
        return result;
    }

    private static double Shrink(long channels) => (channels - 1) / (double)channels;
}
