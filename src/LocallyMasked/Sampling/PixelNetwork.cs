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
/// The Locally Masked PixelCNN++ evaluated at one pixel per image, with every layer's weights, caches and step tables
/// prepared once per sampling call, so that a step is a short list of operations on (N, C) features: per masked
/// convolution one write of its input row, one gather of the neighbourhood rows the step's mask can show, for all images,
/// and one matrix product; the down pass's 1x1 skip layers in one batched product.
/// </summary>
/// <remarks>
/// <para>
/// The traversal (<see cref="Evaluate"/>) mirrors <see cref="LocallyMaskedPixelCnn"/>'s <c>Evaluate</c> and
/// <see cref="GatedResidualBlock"/>'s wiring (the tests compare every step's distribution with the naive sampler's full
/// passes, which run that wiring). It reads the modules through the model's internal accessors; if the wiring changes,
/// this class must follow. How the operations between the products run is left to the two implementations:
/// <see cref="TorchPixelNetwork"/> (torch operations, any device) and <see cref="CpuPixelNetwork{T}"/> (fused loops over
/// CPU memory, float32 and float64).
/// </para>
/// <para>
/// Caches (see <see cref="StepTables"/>) hold each convolution's input in rows (H * W * N + 1, C_in), zero until the
/// pixel is processed. A convolution's weight is stored as the matrix (k * k * C_in, O) in its mask role's tap order,
/// so that the taps a step can see are a block of rows. The first convolution's cache is the images themselves: its
/// input channel of ones contributes <c>sum_t W[o, ones, t] * mask[t, p]</c>, which is folded, with the learned mask
/// weight's term, into a per-step bias computed from the mask's columns. The mask weight of the other convolutions is
/// added the same way, one product per mask role and step for all of them.
/// </para>
/// </remarks>
internal abstract class PixelNetwork : IDisposable
{
    private readonly List<(Block[] Blocks, PixelConvolution? Resample)> _up = new();
    private readonly List<(Block[] Blocks, PixelConvolution? Resample)> _down = new();
    private readonly Dictionary<LocallyMaskedConv2d, Tensor> _caches = new(ReferenceEqualityComparer.Instance);
    private readonly List<RoleTerms> _roleTerms = new();
    private long _mark;

    /// <summary>Prepares the weights, caches and per-role terms; call inside the sampling run's dispose scope.</summary>
    /// <param name="model">The model, in evaluation mode.</param>
    /// <param name="tables">The call's step tables.</param>
    private protected PixelNetwork(LocallyMaskedPixelCnn model, StepTables tables)
    {
        Model = model;
        Tables = tables;
        Batch = tables.Batch;
        var config = model.Config;
        Normalization = config.Normalization;
        var dtype = model.DType;
        var device = model.Device;

        Images = zeros(new long[] { tables.Rows, config.ImageChannels }, dtype, device);
        First = new PixelConvolution(model.InitialConvolution, MaskRole.First, Images, config.ImageChannels, tables);
        foreach (var (stage, index) in model.UpStages.Select((s, i) => (s, i)))
        {
            var resample = index < LocallyMaskedPixelCnn.StageCount - 1 ? Prepare(model.DownsizeConvolutions[index], MaskRole.Dilated) : null;
            _up.Add((stage.Blocks.Select(b => new Block(b, Prepare(b.InputConvolution, MaskRole.Undilated), Prepare(b.OutputConvolution, MaskRole.Undilated))).ToArray(), resample));
        }
        foreach (var (stage, index) in model.DownStages.Select((s, i) => (s, i)))
        {
            var resample = index < LocallyMaskedPixelCnn.StageCount - 1 ? Prepare(model.UpsizeConvolutions[index], MaskRole.Dilated) : null;
            _down.Add((stage.Blocks.Select(b => new Block(b, Prepare(b.InputConvolution, MaskRole.Undilated), Prepare(b.OutputConvolution, MaskRole.Undilated))).ToArray(), resample));
        }

        // The skip layers of the down pass, in the order the blocks consume them: (D, 2F, F) and (D, 1, F).
        var skipLayers = _down.SelectMany(s => s.Blocks).Select(b => b.Module.SkipLayer!).ToArray();
        SkipWeights = stack(skipLayers.Select(l => l.Linear.EffectiveWeight().detach().t()).ToArray(), 0).contiguous();
        SkipBias = stack(skipLayers.Select(l => LinearBias(l).unsqueeze(0)).ToArray(), 0);
        OutputWeight = model.OutputLayer.Linear.EffectiveWeight().detach().t().contiguous();
        OutputBias = LinearBias(model.OutputLayer);

        // The mask-dependent terms: the first layer's channel of ones and its mask weight, the other layers' mask weights.
        var first = model.InitialConvolution;
        var onesWeight = Arranged(first.EffectiveWeight().detach().narrow(1, config.ImageChannels, 1));
        if (first.mask_weight is { } firstMaskWeight) onesWeight = onesWeight.Plus(firstMaskWeight.detach().reshape(first.OutChannels, -1).t());
        _roleTerms.Add(new RoleTerms(new[] { First }, onesWeight.contiguous(), first.bias?.detach()));
        if (config.LearnWeightForMasks)
        {
            foreach (var role in new[] { MaskRole.Undilated, MaskRole.Dilated })
            {
                var convolutions = AllConvolutions().Where(c => c.Role == role).ToArray();
                if (convolutions.Length == 0) continue;
                var weights = cat(convolutions.Select(c => c.Module.mask_weight!.detach().reshape(c.Module.OutChannels, -1).t()).ToArray(), 1).contiguous();
                var biases = cat(convolutions.Select(c => c.Module.bias?.detach() ?? zeros(c.Module.OutChannels, dtype: dtype, device: device)).ToArray(), 0);
                _roleTerms.Add(new RoleTerms(convolutions, weights, biases));
            }
        }
    }

    /// <summary>The first layer's cache: the processed pixels' values in rows (H * W * N + 1, C), zero elsewhere.</summary>
    public Tensor Images { get; }

    /// <summary>Every masked convolution's input cache except the first layer's (rows, C_in), for filling from a full pass.</summary>
    public IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> Caches => _caches;

    /// <summary>Where the steps' time goes, when set (costs two timestamps per phase change).</summary>
    public StepProfile? Profile { get; set; }

    private protected LocallyMaskedPixelCnn Model { get; }

    private protected StepTables Tables { get; }

    private protected long Batch { get; }

    private protected FeatureNormalization Normalization { get; }

    private protected PixelConvolution First { get; }

    /// <summary>The skip layers' weights in consumption order, (D, 2F, F).</summary>
    private protected Tensor SkipWeights { get; }

    /// <summary>The skip layers' biases, (D, 1, F).</summary>
    private protected Tensor SkipBias { get; }

    private protected Tensor OutputWeight { get; }

    private protected Tensor OutputBias { get; }

    /// <summary>The step being evaluated.</summary>
    private protected int Step { get; private set; } = -1;

    /// <summary>Creates the implementation for the model's device and dtype: fused CPU loops for float32 and float64 on the CPU, torch operations elsewhere.</summary>
    /// <param name="model">The model, in evaluation mode.</param>
    /// <param name="tables">The call's step tables.</param>
    /// <param name="cpuKernels">Whether the CPU implementation may be used (tests turn it off to check the other one on the CPU).</param>
    public static PixelNetwork Create(LocallyMaskedPixelCnn model, StepTables tables, bool cpuKernels = true)
    {
        // The loops read tensors as spans, which hold at most 2 GB: larger caches stay with torch operations.
        var config = model.Config;
        long widest = Math.Max(2L * config.Filters, config.ImageChannels + 1L);
        bool spans = tables.Rows * widest * (model.DType == ScalarType.Float64 ? 8 : 4) <= int.MaxValue;
        if (cpuKernels && spans && model.Device.type == DeviceType.CPU)
        {
            if (model.DType == ScalarType.Float32) return new CpuPixelNetwork<float>(model, tables);
            if (model.DType == ScalarType.Float64) return new CpuPixelNetwork<double>(model, tables);
        }
        return new TorchPixelNetwork(model, tables);
    }

    /// <summary>The mask roles whose columns the steps read.</summary>
    public static IEnumerable<MaskRole> MaskRoles(PixelCnnConfig config) =>
        config.LearnWeightForMasks ? new[] { MaskRole.First, MaskRole.Undilated, MaskRole.Dilated } : new[] { MaskRole.First };

    /// <summary>The mask roles whose visible-tap counts the steps read.</summary>
    public static IEnumerable<MaskRole> CountRoles(PixelCnnConfig config) =>
        config.Normalization == FeatureNormalization.OrderRescale ? new[] { MaskRole.Undilated, MaskRole.Dilated } : Array.Empty<MaskRole>();

    /// <summary>
    /// The distribution parameters (N, M) of the pixels of step <paramref name="step"/>, from the caches (which this
    /// updates with every layer's input at those pixels, except the first layer's: see <see cref="DrawPixels"/>).
    /// Call inside the step's dispose scope.
    /// </summary>
    public Tensor Evaluate(int step)
    {
        Step = step;
        if (Profile is not null) _mark = StepProfile.Now();
        foreach (var terms in _roleTerms) terms.Compute(Tables.MaskColumns[terms.Role][step]);
        Lap(StepPhase.Product, _roleTerms.Count);

        var u = FirstLayer();
        var outputs = new List<Tensor> { u };
        int upBlock = 0;
        foreach (var (blocks, resample) in _up)
        {
            foreach (var block in blocks)
            {
                u = Gate(block, u, BlockOutput(block, BlockInput(block, u), -1), upBlock++);
                outputs.Add(u);
            }
            if (resample is not null)
            {
                u = Resample(resample, u);
                outputs.Add(u);
            }
        }

        // The down pass pops its skip inputs from the end of the up pass's outputs; all are known now, so the skip
        // layers run as one batched product.
        u = outputs[^1];
        var skipInputs = new Tensor[SkipWeights.shape[0]];
        for (int j = 0; j < skipInputs.Length; j++) skipInputs[j] = outputs[outputs.Count - 2 - j];
        PrepareSkips(skipInputs);

        int next = 0;
        foreach (var (blocks, resample) in _down)
        {
            // The stream's state is not kept past the next block here, so the gate may update it in place (u is either a
            // resampling output already written to a cache or the up pass's last output, which nothing else reads).
            foreach (var block in blocks) u = Gate(block, u, BlockOutput(block, BlockInput(block, u), next++), -1);
            if (resample is not null) u = Resample(resample, u);
        }
        return OutputLayer(u);
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
    }

    /// <summary>The first layer at the step's pixels, normalized: (N, F).</summary>
    private protected abstract Tensor FirstLayer();

    /// <summary>A block's first convolution of concat_elu(u); the result is only passed to <see cref="BlockOutput"/>.</summary>
    private protected abstract Tensor BlockInput(Block block, Tensor u);

    /// <summary>
    /// A block's second convolution: of concat_elu(norm(t) + skip term <paramref name="skip"/>) (none when negative); the
    /// result is only passed to <see cref="Gate"/>.
    /// </summary>
    private protected abstract Tensor BlockOutput(Block block, Tensor t, int skip);

    /// <summary>
    /// u + norm(a) * sigmoid(b) from the second convolution's halves; in place on u when <paramref name="upBlock"/> is
    /// negative, else into a new tensor (the up pass's outputs are kept as skip inputs; upBlock counts them).
    /// </summary>
    private protected abstract Tensor Gate(Block block, Tensor u, Tensor gate, int upBlock);

    /// <summary>A dilated resampling convolution of u, normalized.</summary>
    private protected abstract Tensor Resample(PixelConvolution conv, Tensor u);

    /// <summary>The skip layers' outputs for the down pass, from their inputs in consumption order (D tensors (N, F)).</summary>
    private protected abstract void PrepareSkips(Tensor[] inputs);

    /// <summary>The output layer: the distribution parameters (N, M), a new tensor.</summary>
    private protected abstract Tensor OutputLayer(Tensor u);

    /// <summary>Adds the time since the last lap to a phase, when profiling.</summary>
    private protected void Lap(StepPhase phase, int operations)
    {
        if (Profile is not null) Profile.Lap(phase, ref _mark, operations);
    }

    /// <summary>The bias of a convolution at this step: its role's per-step terms (1 or N, O) when they exist, else its bias (O) or null.</summary>
    private protected static Tensor? BiasOf(PixelConvolution conv) => conv.Terms?.Slice(conv) ?? conv.Bias;

    private PixelConvolution Prepare(LocallyMaskedConv2d module, MaskRole role)
    {
        var cache = zeros(new long[] { Tables.Rows, module.InChannels }, Model.DType, Model.Device);
        _caches.Add(module, cache);
        return new PixelConvolution(module, role, cache, module.InChannels, Tables);
    }

    private protected IEnumerable<PixelConvolution> AllConvolutions() =>
        _up.Concat(_down).SelectMany(s => s.Blocks.SelectMany(b => new[] { b.Input, b.Output }).Concat(s.Resample is null ? Array.Empty<PixelConvolution>() : new[] { s.Resample }));

    private static Tensor LinearBias(NetworkInNetwork layer) =>
        layer.Linear.named_parameters().Single(p => p.name == "bias").parameter.detach();

    /// <summary>
    /// A convolution weight (O, C, k, k) as the matrix (k * k * C, O) that multiplies a gathered patch (N, k * k * C) whose
    /// taps come in <paramref name="tapOrder"/> (natural order when null).
    /// </summary>
    private static Tensor Arranged(Tensor weight, int[]? tapOrder = null)
    {
        using var scope = NewDisposeScope();
        long outChannels = weight.shape[0], channels = weight.shape[1];
        var taps = weight.permute(2, 3, 1, 0).reshape(-1, channels, outChannels);
        if (tapOrder is not null) taps = taps.index_select(0, tensor(tapOrder.Select(t => (long)t).ToArray(), ScalarType.Int64, weight.device));
        return taps.reshape(-1, outChannels).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>A masked convolution prepared for one call: its cache, its weight rows per tap range, its bias.</summary>
    private protected sealed class PixelConvolution
    {
        private readonly Dictionary<int, Tensor> _slices = new();

        public PixelConvolution(LocallyMaskedConv2d module, MaskRole role, Tensor cache, long channels, StepTables tables)
        {
            Module = module;
            Role = role;
            Cache = cache;
            Channels = (int)channels;
            var weight = Arranged(module.EffectiveWeight().detach().narrow(1, 0, channels), tables.TapOrders[role]);
            Bias = module.bias?.detach();
            // The rows of the taps of every range a step uses, as views made once.
            foreach (var (start, length) in tables.Ranges[role].Where(r => r.Length > 0).Distinct())
                _slices[start * 4096 + length] = weight.narrow(0, start * channels, length * channels);
        }

        public LocallyMaskedConv2d Module { get; }

        public MaskRole Role { get; }

        public Tensor Cache { get; }

        /// <summary>Input channels held in the cache.</summary>
        public int Channels { get; }

        public Tensor? Bias { get; }

        /// <summary>The per-step bias of its role when the bias depends on the mask, else null.</summary>
        public RoleTerms? Terms { get; set; }

        /// <summary>The weight's rows (length * C, O) for the taps start .. start + length - 1 of the role's tap order.</summary>
        public Tensor Rows(int start, int length) => _slices[start * 4096 + length];
    }

    private protected sealed record Block(GatedResidualBlock Module, PixelConvolution Input, PixelConvolution Output);

    /// <summary>
    /// The bias of a role's convolutions at one step when it depends on the mask: bias + mask columns (1 or N, k*k) times
    /// the stacked mask-dependent weights (k*k, sum of O), one product for all of them.
    /// </summary>
    private protected sealed class RoleTerms
    {
        private readonly Tensor _weights;
        private readonly Tensor? _bias;
        private readonly Dictionary<PixelConvolution, int> _index = new(ReferenceEqualityComparer.Instance);
        private readonly long[] _sizes;
        private readonly long[] _offsets;
        private Tensor[] _slices = Array.Empty<Tensor>();

        public RoleTerms(IReadOnlyList<PixelConvolution> convolutions, Tensor weights, Tensor? bias)
        {
            Role = convolutions[0].Role;
            _weights = weights;
            _bias = bias;
            _sizes = convolutions.Select(c => (long)c.Module.OutChannels).ToArray();
            _offsets = new long[_sizes.Length];
            for (int i = 1; i < _sizes.Length; i++) _offsets[i] = _offsets[i - 1] + _sizes[i - 1];
            for (int i = 0; i < convolutions.Count; i++)
            {
                _index[convolutions[i]] = i;
                convolutions[i].Terms = this;
            }
        }

        public MaskRole Role { get; }

        /// <summary>This step's terms of all the role's convolutions, (1 or N, sum of O).</summary>
        public Tensor All { get; private set; } = null!;

        public void Compute(Tensor columns)
        {
            All = _bias is null ? columns.mm(_weights) : addmm(_bias, columns, _weights, 1, 1);
            _slices = _sizes.Length == 1 ? new[] { All } : All.split(_sizes, 1);
        }

        public Tensor Slice(PixelConvolution conv) => _slices[_index[conv]];

        /// <summary>Where a convolution's columns begin in <see cref="All"/>.</summary>
        public long Offset(PixelConvolution conv) => _offsets[_index[conv]];
    }
}

/// <summary>The operations between the products as torch operations: any device and dtype.</summary>
internal sealed class TorchPixelNetwork : PixelNetwork
{
    private readonly Tensor _signs;
    private readonly Tensor _ponoScale;
    // Kept alive by this object for the whole call: TorchSharp's implicit double -> Scalar conversions create a Scalar
    // that nothing references during the native call, which a collection may free (docs/benchmarks.md, the libtorch error).
    private readonly Scalar _one = 1.0.ToScalar();
    private Tensor? _skips;

    public TorchPixelNetwork(LocallyMaskedPixelCnn model, StepTables tables) : base(model, tables)
    {
        var dtype = model.DType;
        var device = model.Device;
        // concat_elu's [x, -x] as one broadcast product with (+1, -1).
        _signs = tensor(new[] { 1.0, -1.0 }, new long[] { 2, 1 }, dtype, device);
        // Every normalized feature vector has F channels.
        int filters = model.Config.Filters;
        using var scale = Math.Sqrt(Shrink(filters)).ToScalar();
        _ponoScale = full(new long[] { filters }, scale, dtype, device);
    }

    public override void Dispose() => _one.Dispose();

    private protected override Tensor FirstLayer() => Normalize(Convolve(First, null), Normalization, MaskRole.Undilated);

    private protected override Tensor BlockInput(Block block, Tensor u) =>
        Normalize(Convolve(block.Input, ConcatElu(u)), block.Module.Normalization, MaskRole.Undilated);

    private protected override Tensor BlockOutput(Block block, Tensor t, int skip)
    {
        if (skip >= 0)
        {
            t = t.add_(_skips![skip], _one);
            Lap(StepPhase.Elementwise, 1);
        }
        return Convolve(block.Output, ConcatElu(t));
    }

    private protected override Tensor Gate(Block block, Tensor u, Tensor gate, int upBlock)
    {
        long filters = block.Module.Filters;
        var value = Normalize(gate.narrow(1, 0, filters), block.Module.Normalization, MaskRole.Undilated);
        var sigmoid = gate.narrow(1, filters, filters).sigmoid_();
        var output = upBlock < 0 ? u.addcmul_(value, sigmoid, _one) : u.addcmul(value, sigmoid, _one);
        Lap(StepPhase.Elementwise, 2);
        return output;
    }

    private protected override Tensor Resample(PixelConvolution conv, Tensor u) => Normalize(Convolve(conv, u), Normalization, MaskRole.Dilated);

    private protected override void PrepareSkips(Tensor[] inputs)
    {
        var features = ConcatElu(stack(inputs, 0));
        Lap(StepPhase.Elementwise, 1);
        // bmm and add rather than baddbmm: TorchSharp 0.107's Tensor.baddbmm hands its operands to the native call in
        // another order than the native function takes them.
        _skips = features.bmm(SkipWeights).add_(SkipBias, _one);
        Lap(StepPhase.Product, 2);
    }

    private protected override Tensor OutputLayer(Tensor u)
    {
        u.elu_(_one, _one, _one);
        Lap(StepPhase.Elementwise, 1);
        var parameters = addmm(OutputBias, u, OutputWeight, 1, 1);
        Lap(StepPhase.Product, 1);
        return parameters;
    }

    private Tensor Convolve(PixelConvolution conv, Tensor? input)
    {
        // The first layer's input (the pixel) is written after sampling: its type-A mask hides the centre.
        if (input is not null)
        {
            conv.Cache.index_copy_(0, Tables.WriteRows[Step], input);
            Lap(StepPhase.Write, 1);
        }
        var bias = BiasOf(conv);
        var (start, length) = Tables.Ranges[conv.Role][Step];
        if (length == 0)
        {
            // Every tap hidden (the first layer at the first pixel): the bias alone.
            var alone = zeros(Batch, conv.Module.OutChannels, Model.DType, Model.Device);
            return bias is null ? alone : alone.add_(bias, _one);
        }
        var patch = conv.Cache.index_select(0, Tables.GatherRows[conv.Role][Step]!).view(Batch, -1);
        Lap(StepPhase.Gather, 1);
        var weight = conv.Rows(start, length);
        var output = bias is null ? patch.mm(weight) : addmm(bias, patch, weight, 1, 1);
        Lap(StepPhase.Product, 1);
        return output;
    }

    /// <summary>elu([x, -x]) over the channels (dimension -1) of (..., C) features: (..., 2C).</summary>
    private Tensor ConcatElu(Tensor x)
    {
        var doubled = x.unsqueeze(-2) * _signs;
        var result = doubled.flatten(-2).elu_(_one, _one, _one);
        Lap(StepPhase.Elementwise, 2);
        return result;
    }

    private Tensor Normalize(Tensor x, FeatureNormalization normalization, MaskRole role)
    {
        var result = normalization switch
        {
            // PONO's unbiased variance as one layer_norm whose weight carries the factor sqrt((C-1)/C)
            // (PositionalNormalization.NormalizeLastDimension, with the multiplication folded in).
            FeatureNormalization.Pono => nn.functional.layer_norm(x, new[] { x.shape[^1] }, _ponoScale, null,
                PositionalNormalization.Epsilon * Shrink(x.shape[^1])),
            FeatureNormalization.OrderRescale => x.div_(Tables.VisibleTaps[role][Step]),
            _ => x,
        };
        if (normalization is FeatureNormalization.Pono or FeatureNormalization.OrderRescale) Lap(StepPhase.Elementwise, 1);
        return result;
    }

    private static double Shrink(long channels) => (channels - 1) / (double)channels;
}
