using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The cached sampler's evaluator of the network's wiring at one pixel per image: a step calls
/// <c>LocallyMaskedPixelCnn.Evaluate</c> with this evaluator, and every hook computes its operation on (N, C) features.
/// Per masked convolution that is one write of its input row into its cache, one gather of the neighbourhood rows the
/// step's mask can show, for all images, and one matrix product; the skip connections run as one batched product.
/// What each layer needs is prepared once per sampling call, from the wiring's trace (<see cref="WiringTrace"/>).
/// </summary>
/// <remarks>
/// <para>
/// How the operations between the products run is left to the two implementations: <see cref="TorchPixelLayers"/> (torch
/// operations, any device) and <see cref="CpuPixelLayers{T}"/> (fused loops over CPU memory, float32 and float64). Every
/// matrix product of a step goes through <see cref="Product(Tensor, Tensor)"/> and its overloads: the seam where the
/// compute precision applies (in bf16 each product's operands are cast, the weights once per call, and its result comes
/// back in the model's dtype, where the biases are added).
/// </para>
/// <para>
/// Caches (see <see cref="StepTables"/>) hold each convolution's input in rows (H * W * N + 1, C_in), zero until the
/// pixel is processed. The first convolution's cache is the images themselves: its input channel of ones contributes
/// <c>sum_t W[o, ones, t] * mask[t, p]</c>, which is folded, with the learned mask weight's term, into a per-step bias
/// computed from the mask's columns. The mask weight of the other convolutions is added the same way, one product per
/// mask role and step for all of them (<see cref="RoleTerms"/>).
/// </para>
/// </remarks>
internal abstract class PixelLayers : ILayerEvaluator, IDisposable
{
    private readonly Dictionary<LocallyMaskedConv2d, PixelConvolution> _convolutions = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<LocallyMaskedConv2d, Tensor> _caches = new(ReferenceEqualityComparer.Instance);
    private readonly List<RoleTerms> _roleTerms = new();
    private readonly SkipGroup?[] _skipGroups;
    private readonly int[] _skipPositions;
    private readonly Tensor[] _values;
    private readonly Tensor _input;
    private readonly Dictionary<Tensor, Tensor> _operands = new(ReferenceEqualityComparer.Instance);
    private long _mark;
    private int _call;

    /// <summary>Prepares the weights, caches and per-role terms; call inside the sampling run's dispose scope.</summary>
    /// <param name="model">The model, in evaluation mode.</param>
    /// <param name="tables">The call's step tables.</param>
    /// <param name="precision">The precision of the products.</param>
    private protected PixelLayers(LocallyMaskedPixelCnn model, StepTables tables, ComputePrecision precision)
    {
        if (model.training) throw new InvalidOperationException("The cached sampler evaluates the model in evaluation mode (no dropout).");
        precision.CheckParameters(model.DType, nameof(precision));
        Model = model;
        Precision = precision;
        Tables = tables;
        Batch = tables.Batch;
        Trace = WiringTrace.Of(model);
        var config = model.Config;
        var dtype = model.DType;
        var device = model.Device;
        var calls = Trace.Calls;
        _values = new Tensor[calls.Count];
        // The network's input at the step's pixels, which no hook reads: the first layer's type-A mask hides the pixel
        // itself, and the earlier pixels are in its cache, the images.
        _input = zeros(new long[] { Batch, config.ImageChannels + 1 }, dtype, device);
        Images = zeros(new long[] { tables.Rows, config.ImageChannels }, dtype, device);

        var convolutions = new List<PixelConvolution>();
        foreach (var call in calls.Where(c => c.Kind == HookKind.Convolve))
        {
            var module = (LocallyMaskedConv2d)call.Layer!;
            if (_convolutions.ContainsKey(module))
                throw new InvalidOperationException("The cached sampler keeps one input cache per convolution: the wiring must apply each convolution once.");
            bool first = call.Inputs[0] == WiringTrace.NetworkInput;
            if (first && call.Role != MaskRole.First)
                throw new InvalidOperationException("The convolution of the network's input must use the first layer's type-A mask, which hides the pixel being drawn.");
            var cache = first ? Images : zeros(new long[] { tables.Rows, module.InChannels }, dtype, device);
            if (!first) _caches.Add(module, cache);
            convolutions.Add(new PixelConvolution(module, call.Role, cache, first ? config.ImageChannels : module.InChannels, first, tables));
            _convolutions.Add(module, convolutions[^1]);
        }
        First = convolutions.Single(c => c.ReadsNetworkInput);

        // The skip connections in groups of layers of one shape whose inputs all exist when the group's first skip is
        // asked for (for this network, one group: the down pass's skip inputs are the up pass's outputs), each group one
        // batched product.
        _skipGroups = new SkipGroup?[calls.Count];
        _skipPositions = new int[calls.Count];
        var skips = Enumerable.Range(0, calls.Count).Where(i => calls[i].Kind == HookKind.Skip).ToArray();
        for (int at = 0; at < skips.Length;)
        {
            int start = skips[at], end = at + 1;
            var shape = (NetworkInNetwork)calls[start].Layer!;
            while (end < skips.Length && calls[skips[end]].Inputs[1] < start && calls[skips[end]].Layer is NetworkInNetwork next
                && next.InChannels == shape.InChannels && next.OutChannels == shape.OutChannels) end++;
            var members = skips[at..end];
            var layers = members.Select(i => (NetworkInNetwork)calls[i].Layer!).ToArray();
            var group = new SkipGroup(
                members.Select(i => calls[i].Inputs[1]).ToArray(),
                stack(layers.Select(l => l.Linear.EffectiveWeight().detach().t()).ToArray(), 0).contiguous(),
                stack(layers.Select(l => LinearBias(l).unsqueeze(0)).ToArray(), 0));
            for (int k = 0; k < members.Length; k++)
            {
                _skipGroups[members[k]] = group;
                _skipPositions[members[k]] = k;
            }
            at = end;
        }
        SkipGroups = _skipGroups.OfType<SkipGroup>().Distinct(ReferenceEqualityComparer.Instance).Cast<SkipGroup>().ToArray();

        var output = (NetworkInNetwork)calls[^1].Layer!;
        OutputWeight = output.Linear.EffectiveWeight().detach().t().contiguous();
        OutputBias = LinearBias(output);

        // The mask-dependent terms: the first layer's channel of ones and its mask weight, the other layers' mask weights.
        var firstModule = First.Module;
        var onesWeight = PixelConvolution.Arranged(firstModule.EffectiveWeight().detach().narrow(1, config.ImageChannels, 1));
        if (firstModule.mask_weight is { } firstMaskWeight) onesWeight = onesWeight.Plus(firstMaskWeight.detach().reshape(firstModule.OutChannels, -1).t());
        _roleTerms.Add(new RoleTerms(new[] { First }, onesWeight.contiguous(), firstModule.bias?.detach()));
        if (config.LearnWeightForMasks)
        {
            foreach (var role in new[] { MaskRole.Undilated, MaskRole.Dilated })
            {
                var ofRole = convolutions.Where(c => c.Role == role && !c.ReadsNetworkInput).ToArray();
                if (ofRole.Length == 0) continue;
                var weights = cat(ofRole.Select(c => c.Module.mask_weight!.detach().reshape(c.Module.OutChannels, -1).t()).ToArray(), 1).contiguous();
                var biases = cat(ofRole.Select(c => c.Module.bias?.detach() ?? zeros(c.Module.OutChannels, dtype: dtype, device: device)).ToArray(), 0);
                _roleTerms.Add(new RoleTerms(ofRole, weights, biases));
            }
        }
    }

    /// <summary>The first layer's cache: the processed pixels' values in rows (H * W * N + 1, C), zero elsewhere.</summary>
    public Tensor Images { get; }

    /// <summary>Every masked convolution's input cache except the first layer's (rows, C_in), for filling from a full pass.</summary>
    public IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> Caches => _caches;

    /// <summary>Where the steps' time goes, when set (costs two timestamps per phase change).</summary>
    public StepProfile? Profile { get; set; }

    /// <summary>The hook calls a step makes.</summary>
    private protected WiringTrace Trace { get; }

    private protected LocallyMaskedPixelCnn Model { get; }

    /// <summary>The precision of the products.</summary>
    private protected ComputePrecision Precision { get; }

    private protected StepTables Tables { get; }

    private protected long Batch { get; }

    /// <summary>The convolution of the network's input.</summary>
    private protected PixelConvolution First { get; }

    private protected IReadOnlyList<SkipGroup> SkipGroups { get; }

    private protected Tensor OutputWeight { get; }

    private protected Tensor OutputBias { get; }

    /// <summary>The step being evaluated.</summary>
    private protected int Step { get; private set; } = -1;

    /// <summary>Creates the implementation for the model's device and dtype: fused CPU loops for float32 and float64 on the CPU, torch operations elsewhere.</summary>
    /// <param name="model">The model, in evaluation mode.</param>
    /// <param name="tables">The call's step tables.</param>
    /// <param name="cpuKernels">Whether the CPU implementation may be used (tests turn it off to check the other one on the CPU).</param>
    /// <param name="precision">The precision of the products; <see cref="ComputePrecision.Float32"/> when null.</param>
    public static PixelLayers Create(LocallyMaskedPixelCnn model, StepTables tables, bool cpuKernels = true, ComputePrecision? precision = null)
    {
        precision ??= ComputePrecision.Float32;
        // The loops read tensors as spans, which hold at most 2 GB: larger caches stay with torch operations.
        var config = model.Config;
        long widest = Math.Max(2L * config.Filters, config.ImageChannels + 1L);
        bool spans = tables.Rows * widest * (model.DType == ScalarType.Float64 ? 8 : 4) <= int.MaxValue;
        if (cpuKernels && spans && model.Device.type == DeviceType.CPU)
        {
            if (model.DType == ScalarType.Float32) return new CpuPixelLayers<float>(model, tables, precision);
            if (model.DType == ScalarType.Float64) return new CpuPixelLayers<double>(model, tables, precision);
        }
        return new TorchPixelLayers(model, tables, precision);
    }

    /// <summary>The mask roles whose columns the steps read.</summary>
    public static IEnumerable<MaskRole> MaskRoles(PixelCnnConfig config) =>
        config.LearnWeightForMasks ? new[] { MaskRole.First, MaskRole.Undilated, MaskRole.Dilated } : new[] { MaskRole.First };

    /// <summary>The mask roles whose visible-tap counts the steps read.</summary>
    public static IEnumerable<MaskRole> CountRoles(PixelCnnConfig config) =>
        config.Normalization == FeatureNormalization.OrderRescale ? new[] { MaskRole.Undilated, MaskRole.Dilated } : Array.Empty<MaskRole>();

    /// <summary>
    /// The distribution parameters (N, M) of the pixels of step <paramref name="step"/>: the model's wiring evaluated at
    /// those pixels, from the caches (which this updates with every layer's input there, except the first layer's: see
    /// <see cref="DrawPixels"/>). Call inside the step's dispose scope.
    /// </summary>
    public Tensor Evaluate(int step)
    {
        Step = step;
        _call = 0;
        if (Profile is not null) _mark = StepProfile.Now();
        foreach (var terms in _roleTerms)
        {
            var columns = Tables.MaskColumns[terms.Role][step];
            terms.Set(terms.Bias is { } bias ? Product(bias, columns, terms.Weights) : Product(columns, terms.Weights));
        }
        Lap(StepPhase.Product, _roleTerms.Count);
        var parameters = Model.Evaluate(_input, this);
        if (_call != Trace.Calls.Count) throw WiringChanged();
        return parameters;
    }

    /// <summary>
    /// Draws the pixels of step <paramref name="step"/> from their distribution parameters (N, M) and the step's uniforms
    /// (images that observe their pixel at this step keep the observed value) and writes them into the first layer's
    /// cache, where later pixels see them. Records the phases Sample and Write in the profile from <paramref name="mark"/>.
    /// </summary>
    public virtual void DrawPixels(int step, Tensor parameters, Tensor uniforms, double temperature, PixelLikelihood likelihood, ref long mark)
    {
        int sampled = Tables.SampledCount[step];
        Tensor values;
        if (sampled > 0)
        {
            values = likelihood.Sample(parameters, uniforms[step], temperature);
            if (sampled < Batch) values = where(Tables.Sampled[step]!, values, Tables.Observed[step]!);
        }
        else
        {
            values = Tables.Observed[step]!;
        }
        Profile?.Lap(StepPhase.Sample, ref mark, 0);
        Images.index_copy_(0, Tables.WriteRows[step], values);
        Profile?.Lap(StepPhase.Write, ref mark, 1);
    }

    /// <summary>Frees what is not owned by the sampling run's dispose scope.</summary>
    public virtual void Dispose()
    {
        foreach (var operand in _operands.Values) operand.Dispose();
        _operands.Clear();
    }

    public abstract Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role);

    public abstract Tensor ConcatElu(Tensor input);

    public abstract Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role);

    /// <summary>The identity: sampling runs in evaluation mode.</summary>
    public Tensor Dropout(GatedResidualBlock block, Tensor input) => Produced(Next(HookKind.Dropout, block), input);

    public Tensor Skip(Tensor t, NetworkInNetwork layer, Tensor skip)
    {
        int call = Next(HookKind.Skip, layer);
        var group = _skipGroups[call]!;
        int position = _skipPositions[call];
        if (position == 0) ComputeSkips(group, group.Inputs.Select(i => _values[i]).ToArray());
        return Produced(call, AddSkip(call, t, group, position));
    }

    public abstract Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role);

    public abstract Tensor Output(NetworkInNetwork layer, Tensor u);

    /// <summary>Computes a group's skip layer outputs from their inputs (D tensors (N, F), in the group's order) into <see cref="SkipGroup.Outputs"/>.</summary>
    private protected abstract void ComputeSkips(SkipGroup group, Tensor[] inputs);

    /// <summary>t + the group's skip output at <paramref name="position"/>, for hook call <paramref name="call"/>.</summary>
    private protected abstract Tensor AddSkip(int call, Tensor t, SkipGroup group, int position);

    /// <summary>The index of the step's next hook call, checked against the trace.</summary>
    private protected int Next(HookKind kind, object? layer = null)
    {
        int call = _call++;
        if (call >= Trace.Calls.Count || Trace.Calls[call].Kind != kind || (layer is not null && !ReferenceEquals(Trace.Calls[call].Layer, layer)))
            throw WiringChanged();
        return call;
    }

    /// <summary>Records the result of hook call <paramref name="call"/> (later calls may read it) and returns it.</summary>
    private protected Tensor Produced(int call, Tensor value) => _values[call] = value;

    /// <summary>This step's result of hook call <paramref name="call"/> (an earlier call of the step).</summary>
    private protected Tensor ValueOf(int call) => _values[call];

    /// <summary>The prepared convolution of a module.</summary>
    private protected PixelConvolution Prepared(LocallyMaskedConv2d conv) => _convolutions[conv];

    /// <summary>A matrix product a x b, b being a weight prepared for the call; in a mixed precision from operands cast to
    /// its product type (each weight cast once per call), returned in a's dtype.</summary>
    private protected Tensor Product(Tensor a, Tensor b) =>
        Precision.IsMixed ? ComputePrecision.Result(Lowered(a).mm(LoweredWeight(b)), a.dtype) : a.mm(b);

    /// <summary>A matrix product with a bias added: bias + a x b (in a mixed precision the bias is added to the product's
    /// result in a's dtype).</summary>
    private protected Tensor Product(Tensor bias, Tensor a, Tensor b) =>
        Precision.IsMixed ? ComputePrecision.Result(Lowered(a).mm(LoweredWeight(b)), a.dtype, bias) : addmm(bias, a, b, 1, 1);

    /// <summary>Matrix products of a batch of matrices (D, N, K) x (D, K, O).</summary>
    private protected Tensor BatchedProduct(Tensor a, Tensor b) =>
        Precision.IsMixed ? ComputePrecision.Result(Lowered(a).bmm(LoweredWeight(b)), a.dtype) : a.bmm(b);

    private Tensor Lowered(Tensor t) => Precision.Operand(t);

    /// <summary>A weight of the call in the products' type, cast at its first use and kept until <see cref="Dispose"/>.</summary>
    private Tensor LoweredWeight(Tensor weight)
    {
        if (!_operands.TryGetValue(weight, out var lowered))
        {
            lowered = Precision.Operand(weight).DetachFromDisposeScope();
            _operands[weight] = lowered;
        }
        return lowered;
    }

    /// <summary>Adds the time since the last lap to a phase, when profiling.</summary>
    private protected void Lap(StepPhase phase, int operations)
    {
        if (Profile is not null) Profile.Lap(phase, ref _mark, operations);
    }

    /// <summary>The bias of a convolution at this step: its role's per-step terms (1 or N, O) when they exist, else its bias (O) or null.</summary>
    private protected static Tensor? BiasOf(PixelConvolution conv) => conv.Terms?.Slice(conv) ?? conv.Bias;

    private static InvalidOperationException WiringChanged() =>
        new("A sampling step made other hook calls than the wiring's trace: the wiring must not depend on the values it computes.");

    private static Tensor LinearBias(NetworkInNetwork layer) =>
        layer.Linear.named_parameters().Single(p => p.name == "bias").parameter.detach();

    /// <summary>Skip connections computed together: their inputs' producing calls, weights (D, 2F, F) and biases (D, 1, F).</summary>
    private protected sealed class SkipGroup(int[] inputs, Tensor weights, Tensor bias)
    {
        /// <summary>The hook calls that produce the inputs, in the group's order.</summary>
        public int[] Inputs { get; } = inputs;

        /// <summary>The skip layers' weights, (D, 2F, F).</summary>
        public Tensor Weights { get; } = weights;

        /// <summary>The skip layers' biases, (D, 1, F).</summary>
        public Tensor Bias { get; } = bias;

        /// <summary>This step's outputs of the group's skip layers, (D, N, F).</summary>
        public Tensor Outputs { get; set; } = null!;
    }
}
