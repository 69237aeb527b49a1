using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// The Locally Masked PixelCNN++ (Jain, Abbeel, Pathak, UAI 2020): a PixelCNN++ whose convolutions are
/// locally masked, so that one network models images under any generation order given by the masks.
/// Up pass of gated residual blocks with dilated convolutions in place of downsampling, down pass with
/// 1x1 skip connections, concat_elu, PONO (or weight normalization) and a weight-normalized 1x1 head.
/// State-dict keys equal the published PyTorch checkpoints' names (<c>u_init.weight</c>,
/// <c>up_layers.0.u_stream.0.conv_input.weight</c>, <c>nin_out.lin_a.weight_g</c>, ...).
/// Through <see cref="IAutoregressiveImageModel"/> it is trained, evaluated, sampled and saved by the same code as the
/// PixelCNN++ baseline (<see cref="PixelCnnPlusPlus"/>).
/// </summary>
public sealed class LocallyMaskedPixelCnn : nn.Module<Tensor, MaskSet, Tensor>, IAutoregressiveImageModel
{
    /// <summary>Stages of the up and down passes.</summary>
    public const int StageCount = 3;

    [ComponentName(Name = "u_init")]
    private readonly LocallyMaskedConv2d _initial;

    [ComponentName(Name = "up_layers")]
    private readonly ModuleList<UpPassStage> _upStages;

    [ComponentName(Name = "down_layers")]
    private readonly ModuleList<DownPassStage> _downStages;

    [ComponentName(Name = "downsize_u_stream")]
    private readonly ModuleList<LocallyMaskedConv2d> _downsize;

    [ComponentName(Name = "upsize_u_stream")]
    private readonly ModuleList<LocallyMaskedConv2d> _upsize;

    [ComponentName(Name = "nin_out")]
    private readonly NetworkInNetwork _output;

    private readonly OrderMaskCache _masks = new();

    /// <summary>Creates a freshly initialized model.</summary>
    /// <param name="config">The configuration (validated).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    /// <param name="planning">What chooses the convolutions' computation paths and when a batch is grouped by order;
    /// <see cref="PlanningPolicy.Deterministic"/> when null.</param>
    public LocallyMaskedPixelCnn(PixelCnnConfig config, Device? device = null, ScalarType? dtype = null, PlanningPolicy? planning = null)
        : base(nameof(LocallyMaskedPixelCnn))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Planning = planning ?? PlanningPolicy.Deterministic;
        Likelihood = PixelLikelihood.Create(config.Likelihood, config.MixtureComponents, config.Bits);

        int f = config.Filters, k = config.KernelSize, r = config.ResidualBlocks;
        bool weightNorm = config.Normalization == FeatureNormalization.WeightNorm;
        LocallyMaskedConv2d Conv(int inChannels, int dilation) =>
            new(inChannels, f, k, dilation, config.ConvolutionBias, config.LearnWeightForMasks, weightNorm, device, dtype, Planning);
        GatedResidualBlock Block(bool skip) =>
            new(f, skip, k, config.Normalization, config.Dropout, config.ConvolutionBias, config.LearnWeightForMasks, device, dtype, Planning);

        _initial = Conv(config.InputChannels, 1);
        _upStages = new ModuleList<UpPassStage>(Enumerable.Range(0, StageCount)
            .Select(_ => new UpPassStage(Enumerable.Range(0, r).Select(_ => Block(false)))).ToArray());
        // The down pass consumes the up pass's 3R + 2 remaining outputs: R, then R + 1 for the two later stages.
        _downStages = new ModuleList<DownPassStage>(Enumerable.Range(0, StageCount)
            .Select(stage => new DownPassStage(Enumerable.Range(0, stage == 0 ? r : r + 1).Select(_ => Block(true)))).ToArray());
        _downsize = new ModuleList<LocallyMaskedConv2d>(Enumerable.Range(0, StageCount - 1).Select(_ => Conv(f, config.MaxDilation)).ToArray());
        _upsize = new ModuleList<LocallyMaskedConv2d>(Enumerable.Range(0, StageCount - 1).Select(_ => Conv(f, config.MaxDilation)).ToArray());
        _output = new NetworkInNetwork(f, config.ParameterChannels, device, dtype);
        RegisterComponents();
    }

    /// <summary>The configuration the model was built with.</summary>
    public PixelCnnConfig Config { get; }

    /// <summary>What chooses the convolutions' computation paths, and from how many filters a batch that mixes orders
    /// runs one pass per order (<see cref="PlanningPolicy.GroupingMinFilters"/>).</summary>
    public PlanningPolicy Planning { get; }

    /// <summary>The per-pixel output distribution of the configured head.</summary>
    public PixelLikelihood Likelihood { get; }

    /// <summary>Which model this is: <see cref="ModelKind.LocallyMaskedPixelCnn"/>.</summary>
    public ModelKind Kind => ModelKind.LocallyMaskedPixelCnn;

    /// <summary>Null: the model takes any order of its image size.</summary>
    public IReadOnlyList<GenerationOrder>? SupportedOrders => null;

    nn.Module IAutoregressiveImageModel.Module => this;

    IImageModelConfig IAutoregressiveImageModel.Configuration => Config;

    /// <summary>Whether <paramref name="order"/> is of the configured image size (every such order is supported).</summary>
    /// <param name="order">An order.</param>
    public bool SupportsOrder(GenerationOrder order) =>
        order is not null && order.Height == Config.Height && order.Width == Config.Width;

    /// <summary>Device of the parameters.</summary>
    public Device Device => _initial.parameters().First().device;

    /// <summary>Element type of the parameters.</summary>
    public ScalarType DType => _initial.parameters().First().dtype;

    /// <summary>The first layer (<c>u_init</c>): C + 1 -&gt; F, type-A mask.</summary>
    internal LocallyMaskedConv2d InitialConvolution => _initial;

    /// <summary>The up-pass stages (<c>up_layers</c>).</summary>
    internal IReadOnlyList<UpPassStage> UpStages => _upStages.ToArray();

    /// <summary>The down-pass stages (<c>down_layers</c>).</summary>
    internal IReadOnlyList<DownPassStage> DownStages => _downStages.ToArray();

    /// <summary>The dilated convolutions replacing downsampling (<c>downsize_u_stream</c>).</summary>
    internal IReadOnlyList<LocallyMaskedConv2d> DownsizeConvolutions => _downsize.ToArray();

    /// <summary>The dilated convolutions replacing upsampling (<c>upsize_u_stream</c>).</summary>
    internal IReadOnlyList<LocallyMaskedConv2d> UpsizeConvolutions => _upsize.ToArray();

    /// <summary>The 1x1 output head (<c>nin_out</c>).</summary>
    internal NetworkInNetwork OutputLayer => _output;

    /// <summary>
    /// The masks of one order for the configured image size, on the model's current device and dtype.
    /// They are built once per order and cached (the cache is rebuilt when the model moves); the returned
    /// tensors belong to the cache and must not be disposed. The convolutions analyse them from the order, once per
    /// order and layer shape.
    /// </summary>
    /// <param name="order">A generation order of the configured size.</param>
    public MaskSet MasksFor(GenerationOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);
        CheckOrderSize(order, nameof(order));
        return _masks.For(order, Config.KernelSize, Config.MaxDilation, DType, Device);
    }

    /// <summary>
    /// Per-sample masks: image i of a batch uses <paramref name="orders"/>[i]. Built from the cached
    /// per-order masks; the result is a new tensor set owned by the caller's dispose scope. The convolutions compose
    /// their plans from the orders' cached analyses.
    /// </summary>
    /// <param name="orders">One order per image, each of the configured size.</param>
    public MaskSet MasksFor(IReadOnlyList<GenerationOrder> orders)
    {
        OrderArguments.Check(orders, nameof(orders), Config.Height, Config.Width);
        return MaskSet.Stack(orders.Select(MasksFor).ToArray());
    }

    /// <summary>Computes the distribution parameters of every pixel.</summary>
    /// <param name="x">Images (N, C, H, W) scaled to [-1, 1] (binary images as -1 / +1), in the model's dtype and device.</param>
    /// <param name="masks">Masks for the configured size and kernel: shared, or per sample with N entries.</param>
    /// <returns>Distribution parameters (N, M, H, W).</returns>
    public override Tensor forward(Tensor x, MaskSet masks) => Forward(x, masks, null, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the generator the dropout draws from (null: torch's global generator) and the
    /// precision of the products.</summary>
    private Tensor Forward(Tensor x, MaskSet masks, Generator? dropout, ComputePrecision precision)
    {
        CheckInput(x, nameof(x));
        CheckMasks(masks, x.shape[0], nameof(masks));
        using var scope = NewDisposeScope();
        var withOnes = cat(new[] { x, ones(x.shape[0], 1, x.shape[2], x.shape[3], dtype: x.dtype, device: x.device) }, 1);

        if (Config.Filters >= Planning.GroupingMinFilters && masks.Parts is { } parts
            && parts.Distinct(ReferenceEqualityComparer.Instance).Count() < parts.Count)
        {
            // Images share orders: each group runs on its order's shared masks. Images do not interact, so the result
            // is the same; it pays only for wide convolutions (PlanningPolicy.GroupingMinFilters).
            return RunGroupedByOrder(withOnes, parts, dropout, precision).MoveToOuterDisposeScope();
        }
        return Evaluate(withOnes, new FeatureMapLayers(masks, dropout, precision)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The network's wiring (the paper's figure, read top to bottom), the one place that says how the layers connect; every
    /// operation is applied by <paramref name="layers"/>: <c>forward</c> evaluates it on feature maps, the cached sampler
    /// records its caches with it and evaluates it at one pixel per image at every step.
    /// </summary>
    /// <param name="input">The images with their channel of ones, (N, C + 1[, H, W]).</param>
    /// <param name="layers">Where the network is evaluated.</param>
    /// <returns>The distribution parameters (N, M[, H, W]).</returns>
    internal Tensor Evaluate(Tensor input, ILayerEvaluator layers)
    {
        var normalization = Config.Normalization;
        // Up pass: every output is kept for the down pass's skip connections. The first layer's output is normalized
        // relative to the undilated mask, as in the reference code (its type-A mask can hide every tap).
        var outputs = new List<Tensor> { layers.Normalize(layers.Convolve(_initial, input, MaskRole.First), normalization, MaskRole.Undilated) };
        for (int stage = 0; stage < StageCount; stage++)
        {
            outputs.AddRange(_upStages[stage].Evaluate(outputs[^1], layers));
            if (stage < StageCount - 1)
                outputs.Add(layers.Normalize(layers.Convolve(_downsize[stage], outputs[^1], MaskRole.Dilated), normalization, MaskRole.Dilated));
        }

        // Down pass: each block pops its skip input from the end of the list.
        var u = outputs[^1];
        outputs.RemoveAt(outputs.Count - 1);
        for (int stage = 0; stage < StageCount; stage++)
        {
            u = _downStages[stage].Evaluate(u, outputs, layers);
            if (stage < StageCount - 1)
                u = layers.Normalize(layers.Convolve(_upsize[stage], u, MaskRole.Dilated), normalization, MaskRole.Dilated);
        }
        return layers.Output(_output, u);
    }

    /// <summary>
    /// The network on images with their channel of ones, one pass per group of images that share a mask set (by
    /// reference), the outputs put back in the images' order.
    /// </summary>
    /// <param name="withOnes">(N, C + 1, H, W).</param>
    /// <param name="parts">Image i's shared mask set, N entries.</param>
    /// <param name="dropout">The generator the dropout draws from, group after group; torch's global generator when null.</param>
    /// <param name="precision">The precision of the products; <see cref="ComputePrecision.Float32"/> when null.</param>
    internal Tensor RunGroupedByOrder(Tensor withOnes, IReadOnlyList<MaskSet> parts, Generator? dropout = null, ComputePrecision? precision = null)
    {
        using var scope = NewDisposeScope();
        var groups = Enumerable.Range(0, parts.Count).GroupBy(i => parts[i], ReferenceEqualityComparer.Instance).ToArray();
        var outputs = new List<Tensor>(groups.Length);
        var positions = new List<long>(parts.Count);
        foreach (var group in groups)
        {
            var index = tensor(group.Select(i => (long)i).ToArray(), ScalarType.Int64, withOnes.device);
            outputs.Add(Evaluate(withOnes.index_select(0, index), new FeatureMapLayers((MaskSet)group.Key!, dropout, precision)));
            positions.AddRange(group.Select(i => (long)i));
        }
        var inverse = new long[parts.Count];
        for (int k = 0; k < positions.Count; k++) inverse[positions[k]] = k;
        return cat(outputs.ToArray(), 0).index_select(0, tensor(inverse, ScalarType.Int64, withOnes.device)).MoveToOuterDisposeScope();
    }

    /// <summary>The distribution parameters of every pixel under one shared order or one order per image (<see cref="forward"/> with their masks).</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">One order, or N orders.</param>
    /// <param name="dropout">The CPU generator the dropout draws from in training mode; torch's global generator when null.</param>
    /// <returns>(N, M, H, W).</returns>
    public Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout = null) =>
        DistributionParameters(x, orders, dropout, ComputePrecision.Float32);

    /// <summary><see cref="DistributionParameters(Tensor, IReadOnlyList{GenerationOrder}, Generator?)"/> with the products in <paramref name="precision"/>.</summary>
    internal Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout, ComputePrecision precision)
    {
        OrderArguments.Check(orders, nameof(orders), Config.Height, Config.Width);
        using var scope = NewDisposeScope();
        return Forward(x, orders.Count == 1 ? MasksFor(orders[0]) : MasksFor(orders), dropout, precision).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="ComputePrecision.Float32"/>: the model itself multiplies in its parameters' dtype (see <see cref="WithPrecision"/>).</summary>
    public ComputePrecision Precision => ComputePrecision.Float32;

    /// <summary>
    /// This model evaluated with its products in <paramref name="precision"/>: the same module and parameters (training
    /// it trains this model), every likelihood and sampler that takes it computing its convolutions and 1x1 layers in
    /// that precision. The view does not own the model (disposing it does nothing). The model itself for
    /// <see cref="ComputePrecision.Float32"/>.
    /// </summary>
    /// <param name="precision">The compute precision.</param>
    /// <exception cref="ArgumentException">A mixed precision for a model whose parameters are not float32.</exception>
    public IAutoregressiveImageModel WithPrecision(ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(precision);
        precision.CheckParameters(DType, nameof(precision));
        return precision == ComputePrecision.Float32
            ? this
            : new ModelInPrecision(this, precision, (x, orders, dropout) => DistributionParameters(x, orders, dropout, precision));
    }

    /// <summary>Log-likelihood in nats of every pixel (summed over its channels) under the masks' order(s).</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="masks">Shared or per-sample masks.</param>
    /// <returns>(N, H, W).</returns>
    public Tensor LogLikelihoodPerPixel(Tensor x, MaskSet masks)
    {
        using var scope = NewDisposeScope();
        var parameters = forward(x, masks);
        return Likelihood.LogProbability(x, parameters).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor LogLikelihoodPerPixel(Tensor x, GenerationOrder order) => ModelLikelihoods.PerPixel(this, x, order);

    /// <summary>Log-likelihood in nats of every pixel, image i under <paramref name="orders"/>[i].</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">N orders.</param>
    /// <returns>(N, H, W).</returns>
    public Tensor LogLikelihoodPerPixel(Tensor x, IReadOnlyList<GenerationOrder> orders)
    {
        using var scope = NewDisposeScope();
        return LogLikelihoodPerPixel(x, MasksFor(orders)).MoveToOuterDisposeScope();
    }

    /// <summary>Log-likelihood in nats of every image under the masks' order(s).</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="masks">Shared or per-sample masks.</param>
    /// <returns>(N).</returns>
    public Tensor LogLikelihood(Tensor x, MaskSet masks)
    {
        using var scope = NewDisposeScope();
        return LogLikelihoodPerPixel(x, masks).sum(new long[] { 1, 2 }).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor LogLikelihood(Tensor x, GenerationOrder order) => ModelLikelihoods.PerImage(this, x, order);

    /// <inheritdoc/>
    public Tensor LogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders) => ModelLikelihoods.PerImage(this, x, orders);

    /// <inheritdoc/>
    public Tensor EnsembleLogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.Ensemble(this, x, orders, maxBatchSize);

    /// <inheritdoc/>
    public Tensor PerOrderLogLikelihoods(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.PerOrder(this, x, orders, null, maxBatchSize);

    /// <inheritdoc/>
    public Tensor RegionLogLikelihood(Tensor x, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.Region(this, x, region, orders, maxBatchSize);

    /// <summary>Drops the cached masks (they are rebuilt on demand).</summary>
    public void ClearMaskCache() => _masks.Clear();

    /// <summary>Releases the parameters and the cached masks.</summary>
    /// <param name="disposing">True when called from <see cref="IDisposable.Dispose"/>.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _masks.DisposeAll();
        base.Dispose(disposing);
    }


    private void CheckOrderSize(GenerationOrder order, string argumentName)
    {
        if (order.Height != Config.Height || order.Width != Config.Width)
            throw new ArgumentException(
                $"The order is for {order.Height}x{order.Width} images but the model is configured for {Config.Height}x{Config.Width}.", argumentName);
    }

    /// <summary>Checks shape, dtype, device and value range of an input batch.</summary>
    internal void CheckInput(Tensor x, string argumentName) => ModelInputs.CheckImages(this, x, argumentName);

    private void CheckMasks(MaskSet masks, long batch, string argumentName)
    {
        if (masks is null) throw new ArgumentNullException(argumentName);
        if (masks.Height != Config.Height || masks.Width != Config.Width)
            throw new ArgumentException($"The masks are for {masks.Height}x{masks.Width} images, the model for {Config.Height}x{Config.Width}.", argumentName);
        if (masks.KernelSize != Config.KernelSize || masks.Dilation != Config.MaxDilation)
            throw new ArgumentException(
                $"The masks are for kernel {masks.KernelSize} and dilation {masks.Dilation}, the model uses kernel {Config.KernelSize} and dilation {Config.MaxDilation}.",
                argumentName);
        if (masks.IsPerSample && masks.BatchSize != batch)
            throw new ArgumentException($"The per-sample masks hold {masks.BatchSize} orders for a batch of {batch} images.", argumentName);
        if (masks.DType != DType || !DeviceEquality.Same(masks.Device, Device))
            throw new ArgumentException(
                $"The masks are {masks.DType} on {masks.Device}, the model is {DType} on {Device}: build them with MasksFor.", argumentName);
    }
}
