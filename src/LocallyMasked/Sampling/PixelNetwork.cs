using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The Locally Masked PixelCNN++ evaluated at one pixel per image, with every layer's weights, caches and step tables
/// prepared once per sampling call, so that a step is a short list of operations on (N, C) features: per masked
/// convolution one write of its input row, one gather of the k x k neighbourhood rows of all images and one matrix
/// product; the down pass's 1x1 skip layers in one batched product; feature normalization and the gate in place.
/// </summary>
/// <remarks>
/// <para>
/// The traversal mirrors <see cref="LocallyMaskedPixelCnn"/>'s <c>Evaluate</c> and <see cref="GatedResidualBlock"/>'s wiring
/// (the tests compare every step's distribution with the naive sampler's full passes, which run that wiring). It reads
/// the modules through the model's internal accessors; if the wiring changes, this class must follow.
/// </para>
/// <para>
/// Caches (see <see cref="StepTables"/>) hold each convolution's input in rows (N * H * W + 1, C_in), zero until the
/// pixel is processed. The first convolution's cache is the images themselves: its input channel of ones contributes
/// <c>sum_t W[o, ones, t] * mask[t, p]</c>, which is folded, with the learned mask weight's term, into a per-step bias
/// computed from the mask's columns. The mask weight of the other convolutions is added the same way, one product per
/// mask role and step for all of them.
/// </para>
/// </remarks>
internal sealed class PixelNetwork : IDisposable
{
    private readonly LocallyMaskedPixelCnn _model;
    private readonly StepTables _tables;
    private readonly long _batch;
    private readonly FeatureNormalization _normalization;
    private readonly PixelConvolution _first;
    private readonly List<(Block[] Blocks, PixelConvolution? Resample)> _up = new();
    private readonly List<(Block[] Blocks, PixelConvolution? Resample)> _down = new();
    private readonly Tensor _skipWeights;
    private readonly Tensor _skipBias;
    private readonly Tensor _outputWeight;
    private readonly Tensor _outputBias;
    private readonly Tensor _signs;
    private readonly Tensor _ponoScale;
    private readonly Dictionary<MaskRole, RoleTerms> _roleTerms = new();
    private readonly Dictionary<LocallyMaskedConv2d, Tensor> _caches = new(ReferenceEqualityComparer.Instance);
    // Kept alive by this object for the whole call: TorchSharp's implicit double -> Scalar conversions create a Scalar
    // that nothing references during the native call, which a collection may free (docs/benchmarks.md, the libtorch error).
    private readonly Scalar _one = 1.0.ToScalar();
    private int _step = -1;
    private long _mark;

    /// <summary>Prepares the weights, caches and per-role terms; call inside the sampling run's dispose scope.</summary>
    /// <param name="model">The model, in evaluation mode.</param>
    /// <param name="tables">The call's step tables.</param>
    public PixelNetwork(LocallyMaskedPixelCnn model, StepTables tables)
    {
        _model = model;
        _tables = tables;
        _batch = tables.Batch;
        var config = model.Config;
        _normalization = config.Normalization;
        var dtype = model.DType;
        var device = model.Device;

        Images = zeros(new long[] { tables.Rows, config.ImageChannels }, dtype, device);
        _first = new PixelConvolution(model.InitialConvolution, MaskRole.First, Images, config.ImageChannels);
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
        _skipWeights = stack(skipLayers.Select(l => l.Linear.EffectiveWeight().detach().t()).ToArray(), 0).contiguous();
        _skipBias = stack(skipLayers.Select(l => LinearBias(l).unsqueeze(0)).ToArray(), 0);
        _outputWeight = model.OutputLayer.Linear.EffectiveWeight().detach().t().contiguous();
        _outputBias = LinearBias(model.OutputLayer);
        // concat_elu's [x, -x] as one broadcast product with (+1, -1).
        _signs = tensor(new[] { 1.0, -1.0 }, new long[] { 2, 1 }, dtype, device);
        // Every normalized feature vector has F channels.
        _ponoScale = full(new long[] { config.Filters }, Math.Sqrt(Shrink(config.Filters)), dtype, device);

        // The mask-dependent terms: the first layer's channel of ones and its mask weight, the other layers' mask weights.
        var first = model.InitialConvolution;
        var onesWeight = Arranged(first.EffectiveWeight().detach().narrow(1, config.ImageChannels, 1));
        if (first.mask_weight is { } firstMaskWeight) onesWeight = onesWeight + firstMaskWeight.detach().reshape(first.OutChannels, -1).t();
        _roleTerms[MaskRole.First] = new RoleTerms(new[] { _first }, onesWeight.contiguous(), first.bias?.detach());
        if (config.LearnWeightForMasks)
        {
            foreach (var role in new[] { MaskRole.Undilated, MaskRole.Dilated })
            {
                var convolutions = AllConvolutions().Where(c => c.Role == role).ToArray();
                if (convolutions.Length == 0) continue;
                var weights = cat(convolutions.Select(c => c.Module.mask_weight!.detach().reshape(c.Module.OutChannels, -1).t()).ToArray(), 1).contiguous();
                var biases = cat(convolutions.Select(c => c.Module.bias?.detach() ?? zeros(c.Module.OutChannels, dtype: dtype, device: device)).ToArray(), 0);
                _roleTerms[role] = new RoleTerms(convolutions, weights, biases);
            }
        }
    }

    /// <summary>The first layer's cache: the processed pixels' values in rows (N * H * W + 1, C), zero elsewhere.</summary>
    public Tensor Images { get; }

    /// <summary>Every masked convolution's input cache except the first layer's (rows, C_in), for filling from a full pass.</summary>
    public IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> Caches => _caches;

    /// <summary>The mask roles whose columns the steps read.</summary>
    public static IEnumerable<MaskRole> MaskRoles(PixelCnnConfig config) =>
        config.LearnWeightForMasks ? new[] { MaskRole.First, MaskRole.Undilated, MaskRole.Dilated } : new[] { MaskRole.First };

    /// <summary>The mask roles whose visible-tap counts the steps read.</summary>
    public static IEnumerable<MaskRole> CountRoles(PixelCnnConfig config) =>
        config.Normalization == FeatureNormalization.OrderRescale ? new[] { MaskRole.Undilated, MaskRole.Dilated } : Array.Empty<MaskRole>();

    /// <summary>The dilations of the model's convolutions.</summary>
    public static IEnumerable<int> Dilations(PixelCnnConfig config) => new[] { 1, config.MaxDilation }.Distinct();

    /// <summary>
    /// The distribution parameters (N, M) of the pixels of step <paramref name="step"/>, from the caches (which this
    /// updates with every layer's input at those pixels, except the first layer's: see <see cref="WritePixels"/>).
    /// Call inside the step's dispose scope.
    /// </summary>
    public Tensor Evaluate(int step)
    {
        _step = step;
        if (Profile is not null) _mark = StepProfile.Now();
        foreach (var terms in _roleTerms.Values) terms.Compute(_tables.MaskColumns[terms.Role][step]);
        Lap(StepPhase.Product, _roleTerms.Count);

        var u = Normalize(Convolve(_first, null), _normalization, MaskRole.Undilated);
        var outputs = new List<Tensor> { u };
        foreach (var (blocks, resample) in _up)
        {
            foreach (var block in blocks)
            {
                u = Apply(block, u, null, inPlace: false);
                outputs.Add(u);
            }
            if (resample is not null)
            {
                u = Normalize(Convolve(resample, u), _normalization, MaskRole.Dilated);
                outputs.Add(u);
            }
        }

        // The down pass pops its skip inputs from the end of the up pass's outputs; all are known now, so the skip
        // layers run as one batched product.
        u = outputs[^1];
        int skipCount = (int)_skipWeights.shape[0];
        var skipInputs = new Tensor[skipCount];
        for (int j = 0; j < skipCount; j++) skipInputs[j] = outputs[outputs.Count - 2 - j];
        // bmm and add rather than baddbmm: TorchSharp 0.107's Tensor.baddbmm hands its operands to the native call in
        // another order than the native function takes them.
        var skipFeatures = ConcatElu(stack(skipInputs, 0));
        Lap(StepPhase.Elementwise, 1);
        var skips = skipFeatures.bmm(_skipWeights).add_(_skipBias, _one);
        Lap(StepPhase.Product, 2);

        int next = 0;
        foreach (var (blocks, resample) in _down)
        {
            // The stream's state is not kept past the next block here, so the gate updates it in place (u is either a
            // copy's source already written to a cache or the up pass's last output, which nothing else reads).
            foreach (var block in blocks) u = Apply(block, u, skips[next++], inPlace: true);
            if (resample is not null) u = Normalize(Convolve(resample, u), _normalization, MaskRole.Dilated);
        }
        u.elu_(_one, _one, _one);
        Lap(StepPhase.Elementwise, 1);
        var parameters = addmm(_outputBias, u, _outputWeight, 1, 1);
        Lap(StepPhase.Product, 1);
        return parameters;
    }

    /// <summary>Writes the step's final pixel values (N, C) into the first layer's cache, where later pixels see them.</summary>
    public void WritePixels(int step, Tensor values) => Images.index_copy_(0, _tables.WriteRows[step], values);

    /// <summary>Where the steps' time goes, when set (costs two timestamps per phase change).</summary>
    public StepProfile? Profile { get; set; }

    /// <summary>Frees the scalars (the tensors belong to the sampling run's dispose scope).</summary>
    public void Dispose() => _one.Dispose();

    private Tensor Apply(Block block, Tensor u, Tensor? skip, bool inPlace)
    {
        var normalization = block.Module.Normalization;
        var t = Normalize(Convolve(block.Input, ConcatElu(u)), normalization, MaskRole.Undilated);
        if (skip is not null)
        {
            t = t.add_(skip, _one);
            Lap(StepPhase.Elementwise, 1);
        }
        var gate = Convolve(block.Output, ConcatElu(t));
        long filters = block.Module.Filters;
        var value = Normalize(gate.narrow(1, 0, filters), normalization, MaskRole.Undilated);
        var sigmoid = gate.narrow(1, filters, filters).sigmoid_();
        var output = inPlace ? u.addcmul_(value, sigmoid, _one) : u.addcmul(value, sigmoid, _one);
        Lap(StepPhase.Elementwise, 2);
        return output;
    }

    private Tensor Convolve(PixelConvolution conv, Tensor? input)
    {
        // The first layer's input (the pixel) is written after sampling: its type-A mask hides the centre.
        if (input is not null)
        {
            conv.Cache.index_copy_(0, _tables.WriteRows[_step], input);
            Lap(StepPhase.Write, 1);
        }
        var patch = conv.Cache.index_select(0, _tables.GatherRows[conv.Module.Dilation][_step]).view(_batch, -1);
        Lap(StepPhase.Gather, 1);
        var bias = conv.Terms?.Slice(conv) ?? conv.Bias;
        var output = bias is null ? patch.mm(conv.Weight) : addmm(bias, patch, conv.Weight, 1, 1);
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
        var result = Normalized(x, normalization, role);
        if (!ReferenceEquals(result, x) || normalization == FeatureNormalization.OrderRescale) Lap(StepPhase.Elementwise, 1);
        return result;
    }

    private Tensor Normalized(Tensor x, FeatureNormalization normalization, MaskRole role) => normalization switch
    {
        // PONO's unbiased variance as one layer_norm whose weight carries the factor sqrt((C-1)/C)
        // (PositionalNormalization.NormalizeLastDimension, with the multiplication folded in).
        FeatureNormalization.Pono => nn.functional.layer_norm(x, new[] { x.shape[^1] }, _ponoScale, null,
            PositionalNormalization.Epsilon * Shrink(x.shape[^1])),
        FeatureNormalization.OrderRescale => x.div_(_tables.VisibleTaps[role][_step]),
        _ => x,
    };

    private void Lap(StepPhase phase, int operations)
    {
        if (Profile is not null) Profile.Lap(phase, ref _mark, operations);
    }

    private static double Shrink(long channels) => (channels - 1) / (double)channels;

    private PixelConvolution Prepare(LocallyMaskedConv2d module, MaskRole role)
    {
        var cache = zeros(new long[] { _tables.Rows, module.InChannels }, _model.DType, _model.Device);
        _caches.Add(module, cache);
        return new PixelConvolution(module, role, cache, module.InChannels);
    }

    private IEnumerable<PixelConvolution> AllConvolutions() =>
        _up.Concat(_down).SelectMany(s => s.Blocks.SelectMany(b => new[] { b.Input, b.Output }).Concat(s.Resample is null ? Array.Empty<PixelConvolution>() : new[] { s.Resample }));

    private static Tensor LinearBias(NetworkInNetwork layer) =>
        layer.Linear.named_parameters().Single(p => p.name == "bias").parameter.detach();

    /// <summary>A convolution weight (O, C, k, k) as the matrix (k * k * C, O) that multiplies a gathered patch (N, k * k * C).</summary>
    private static Tensor Arranged(Tensor weight) =>
        weight.permute(2, 3, 1, 0).reshape(-1, weight.shape[0]).contiguous();

    private sealed class PixelConvolution
    {
        public PixelConvolution(LocallyMaskedConv2d module, MaskRole role, Tensor cache, long channels)
        {
            Module = module;
            Role = role;
            Cache = cache;
            Weight = Arranged(module.EffectiveWeight().detach().narrow(1, 0, channels));
            Bias = module.bias?.detach();
        }

        public LocallyMaskedConv2d Module { get; }

        public MaskRole Role { get; }

        public Tensor Cache { get; }

        public Tensor Weight { get; }

        public Tensor? Bias { get; }

        /// <summary>The per-step bias of its role when the bias depends on the mask, else null.</summary>
        public RoleTerms? Terms { get; set; }
    }

    private sealed record Block(GatedResidualBlock Module, PixelConvolution Input, PixelConvolution Output);

    /// <summary>
    /// The bias of a role's convolutions at one step when it depends on the mask: bias + mask columns (1 or N, k*k) times
    /// the stacked mask-dependent weights (k*k, sum of O), one product for all of them.
    /// </summary>
    private sealed class RoleTerms
    {
        private readonly Tensor _weights;
        private readonly Tensor? _bias;
        private readonly Dictionary<PixelConvolution, int> _index = new(ReferenceEqualityComparer.Instance);
        private readonly long[] _sizes;
        private Tensor[] _slices = Array.Empty<Tensor>();

        public RoleTerms(IReadOnlyList<PixelConvolution> convolutions, Tensor weights, Tensor? bias)
        {
            Role = convolutions[0].Role;
            _weights = weights;
            _bias = bias;
            _sizes = convolutions.Select(c => (long)c.Module.OutChannels).ToArray();
            for (int i = 0; i < convolutions.Count; i++)
            {
                _index[convolutions[i]] = i;
                convolutions[i].Terms = this;
            }
        }

        public MaskRole Role { get; }

        public void Compute(Tensor columns)
        {
            var terms = _bias is null ? columns.mm(_weights) : addmm(_bias, columns, _weights, 1, 1);
            _slices = _sizes.Length == 1 ? new[] { terms } : terms.split(_sizes, 1);
        }

        public Tensor Slice(PixelConvolution conv) => _slices[_index[conv]];
    }
}
