using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// PixelCNN++ (Salimans et al. 2017), the baseline the paper compares against, as the authors' baseline.py builds it:
/// two streams, "u" (rows above, down-shifted 2x3 convolutions) and "ul" (rows above and pixels to the left,
/// down-right-shifted 2x2 convolutions); an up pass of gated residual blocks with two stride-2 downsamplings, a down
/// pass with transposed-convolution upsamplings that consumes every up-pass output as a skip input; concat_elu,
/// weight normalization everywhere, channel dropout in the blocks, and a 1x1 head on elu(ul). It models images in
/// raster order only. State-dict keys are the authors' (and pclucas14/pixel-cnn-pp's): <c>u_init.conv.weight_v</c>,
/// <c>ul_init.1.conv.weight_g</c>, <c>up_layers.0.ul_stream.0.nin_skip.lin_a.bias</c>,
/// <c>upsize_u_stream.0.deconv.weight_v</c>, <c>nin_out.lin_a.weight_g</c>, ...
/// Through <see cref="IAutoregressiveImageModel"/> it is trained, evaluated, sampled and saved by the same code as
/// <see cref="LocallyMaskedPixelCnn"/>; its only order is raster (per-order and ensemble likelihoods reduce to that
/// order's, and any other order is refused with an <see cref="ArgumentException"/> naming it).
/// </summary>
public sealed class PixelCnnPlusPlus : nn.Module<Tensor, Tensor>, IAutoregressiveImageModel
{
    /// <summary>Stages of the up and down passes (resolutions H, H/2, H/4).</summary>
    public const int StageCount = 3;

    // Declared in the order baseline.PixelCNN registers its modules, so that state_dict() lists keys in its order.
    [ComponentName(Name = "down_layers")]
    private readonly ModuleList<ShiftedDownPassStage> _downStages;

    [ComponentName(Name = "up_layers")]
    private readonly ModuleList<ShiftedUpPassStage> _upStages;

    [ComponentName(Name = "downsize_u_stream")]
    private readonly ModuleList<DownShiftedConv2d> _downsizeU;

    [ComponentName(Name = "downsize_ul_stream")]
    private readonly ModuleList<DownRightShiftedConv2d> _downsizeUL;

    [ComponentName(Name = "upsize_u_stream")]
    private readonly ModuleList<DownShiftedConvTranspose2d> _upsizeU;

    [ComponentName(Name = "upsize_ul_stream")]
    private readonly ModuleList<DownRightShiftedConvTranspose2d> _upsizeUL;

    [ComponentName(Name = "u_init")]
    private readonly DownShiftedConv2d _uInit;

    [ComponentName(Name = "ul_init")]
    private readonly ModuleList<nn.Module<Tensor, Tensor>> _ulInit;

    [ComponentName(Name = "nin_out")]
    private readonly NetworkInNetwork _output;

    /// <summary>Creates a freshly initialized model.</summary>
    /// <param name="config">The configuration (validated).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public PixelCnnPlusPlus(PixelCnnPlusPlusConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(PixelCnnPlusPlus))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Likelihood = PixelLikelihood.Create(config.Likelihood, config.MixtureComponents, config.Bits);

        int f = config.Filters, r = config.ResidualBlocks, c = config.InputChannels;
        // The down pass consumes the up pass's 3R + 2 skip entries per stream: R, then R + 1 for the two later stages.
        _downStages = new ModuleList<ShiftedDownPassStage>(Enumerable.Range(0, StageCount)
            .Select(stage => new ShiftedDownPassStage(f, stage == 0 ? r : r + 1, config.Dropout, device, dtype)).ToArray());
        _upStages = new ModuleList<ShiftedUpPassStage>(Enumerable.Range(0, StageCount)
            .Select(_ => new ShiftedUpPassStage(f, r, config.Dropout, device, dtype)).ToArray());
        _downsizeU = new ModuleList<DownShiftedConv2d>(Enumerable.Range(0, StageCount - 1)
            .Select(_ => new DownShiftedConv2d(f, f, stride: 2, device: device, dtype: dtype)).ToArray());
        _downsizeUL = new ModuleList<DownRightShiftedConv2d>(Enumerable.Range(0, StageCount - 1)
            .Select(_ => new DownRightShiftedConv2d(f, f, stride: 2, device: device, dtype: dtype)).ToArray());
        _upsizeU = new ModuleList<DownShiftedConvTranspose2d>(Enumerable.Range(0, StageCount - 1)
            .Select(_ => new DownShiftedConvTranspose2d(f, f, device: device, dtype: dtype)).ToArray());
        _upsizeUL = new ModuleList<DownRightShiftedConvTranspose2d>(Enumerable.Range(0, StageCount - 1)
            .Select(_ => new DownRightShiftedConvTranspose2d(f, f, device: device, dtype: dtype)).ToArray());
        // The first layers see strictly earlier pixels: u from the rows above (2x3, shifted down); ul from the row
        // above (1x3, shifted down) plus the pixels to the left (2x1, shifted right).
        _uInit = new DownShiftedConv2d(c, f, kernelHeight: 2, kernelWidth: 3, shiftOutputDown: true, device: device, dtype: dtype);
        _ulInit = new ModuleList<nn.Module<Tensor, Tensor>>(
            new DownShiftedConv2d(c, f, kernelHeight: 1, kernelWidth: 3, shiftOutputDown: true, device: device, dtype: dtype),
            new DownRightShiftedConv2d(c, f, kernelHeight: 2, kernelWidth: 1, shiftOutputRight: true, device: device, dtype: dtype));
        _output = new NetworkInNetwork(f, config.ParameterChannels, device, dtype);
        RegisterComponents();
        _order = GenerationOrders.Raster(config.Height, config.Width);
        _supportedOrders = new[] { _order };
    }

    private readonly GenerationOrder _order;
    private readonly IReadOnlyList<GenerationOrder> _supportedOrders;

    /// <summary>The configuration the model was built with.</summary>
    public PixelCnnPlusPlusConfig Config { get; }

    /// <summary>The per-pixel output distribution of the configured head.</summary>
    public PixelLikelihood Likelihood { get; }

    /// <summary>The only generation order this model supports: raster order (row by row, left to right) for the configured size.</summary>
    public GenerationOrder Order => _order;

    /// <summary>Which model this is: <see cref="ModelKind.PixelCnnPlusPlus"/>.</summary>
    public ModelKind Kind => ModelKind.PixelCnnPlusPlus;

    /// <summary>Exactly one order: <see cref="Order"/>, the raster order.</summary>
    public IReadOnlyList<GenerationOrder> SupportedOrders => _supportedOrders;

    nn.Module IAutoregressiveImageModel.Module => this;

    IImageModelConfig IAutoregressiveImageModel.Configuration => Config;

    /// <summary>Whether <paramref name="order"/> is the raster order of the configured size (the only one the model has).</summary>
    /// <param name="order">An order.</param>
    public bool SupportsOrder(GenerationOrder order) => _order.Equals(order);

    /// <summary>Device of the parameters.</summary>
    public Device Device => _output.parameters().First().device;

    /// <summary>Element type of the parameters.</summary>
    public ScalarType DType => _output.parameters().First().dtype;

    /// <summary>Computes the distribution parameters of every pixel; those of pixel p depend only on the pixels before p in raster order.</summary>
    /// <param name="x">Images (N, C, H, W) scaled to [-1, 1] (binary images as -1 / +1), in the model's dtype and device.</param>
    /// <returns>Distribution parameters (N, M, H, W).</returns>
    public override Tensor forward(Tensor x) => Forward(x, null, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the generator the blocks' dropout draws from (null: torch's global generator)
    /// and the precision of the convolutions and 1x1 layers.</summary>
    private Tensor Forward(Tensor x, Generator? dropout, ComputePrecision precision)
    {
        CheckInput(x, nameof(x));
        using var scope = NewDisposeScope();
        x = cat(new[] { x, ones(x.shape[0], 1, x.shape[2], x.shape[3], dtype: x.dtype, device: x.device) }, 1);

        // Up pass: every block output (and every downsampled stream) is pushed for the down pass.
        var uList = new Stack<Tensor>();
        var ulList = new Stack<Tensor>();
        uList.Push(_uInit.Forward(x, precision));
        // ul_init holds a DownShiftedConv2d and a DownRightShiftedConv2d.
        ulList.Push(((IShiftedConvolution)_ulInit[0]).Forward(x, precision).Plus(((IShiftedConvolution)_ulInit[1]).Forward(x, precision)));
        for (int i = 0; i < StageCount; i++)
        {
            var (uOut, ulOut) = _upStages[i].Forward(uList.Peek(), ulList.Peek(), dropout, precision);
            foreach (var t in uOut) uList.Push(t);
            foreach (var t in ulOut) ulList.Push(t);
            if (i != StageCount - 1)
            {
                uList.Push(_downsizeU[i].Forward(uList.Peek(), precision));
                ulList.Push(_downsizeUL[i].Forward(ulList.Peek(), precision));
            }
        }

        // Down pass: starts from the last entries; each block pops its skip input (the most recent entry).
        var u = uList.Pop();
        var ul = ulList.Pop();
        for (int i = 0; i < StageCount; i++)
        {
            (u, ul) = _downStages[i].Forward(u, ul, uList, ulList, dropout, precision);
            if (i != StageCount - 1)
            {
                u = _upsizeU[i].Forward(u, precision);
                ul = _upsizeUL[i].Forward(ul, precision);
            }
        }
        if (uList.Count != 0 || ulList.Count != 0)
            throw new InvalidOperationException($"The down pass left {uList.Count} and {ulList.Count} skip entries unused.");

        return _output.Forward(ul.Elu(), precision).MoveToOuterDisposeScope();
    }

    /// <summary>Log-likelihood in nats of every pixel (summed over its channels) in raster order.</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <returns>(N, H, W).</returns>
    public Tensor LogLikelihoodPerPixel(Tensor x) => ModelLikelihoods.PerPixel(this, x, _supportedOrders);

    /// <summary>Log-likelihood in nats of every pixel under an order, which must be the raster order.</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="order">The raster order of the configured size (<see cref="GenerationOrders.Raster"/>).</param>
    /// <returns>(N, H, W).</returns>
    /// <exception cref="ArgumentException">The order is not the raster order of the configured size.</exception>
    public Tensor LogLikelihoodPerPixel(Tensor x, GenerationOrder order) => ModelLikelihoods.PerPixel(this, x, order);

    /// <summary>Log-likelihood in nats of every image in raster order.</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <returns>(N).</returns>
    public Tensor LogLikelihood(Tensor x) => ModelLikelihoods.PerImage(this, x, _order);

    /// <summary>Log-likelihood in nats of every image under an order, which must be the raster order (the API of <see cref="LocallyMaskedPixelCnn"/>).</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="order">The raster order of the configured size (<see cref="GenerationOrders.Raster"/>).</param>
    /// <returns>(N).</returns>
    /// <exception cref="ArgumentException">The order is not the raster order of the configured size.</exception>
    public Tensor LogLikelihood(Tensor x, GenerationOrder order) => ModelLikelihoods.PerImage(this, x, order);

    /// <summary>The distribution parameters of every pixel (<see cref="forward"/>); the orders must all be the raster order.</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">The raster order once, or N times.</param>
    /// <param name="dropout">The CPU generator the dropout draws from in training mode; torch's global generator when null.</param>
    /// <returns>(N, M, H, W).</returns>
    /// <exception cref="ArgumentException">An order is not the raster order of the configured size.</exception>
    public Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout = null) =>
        DistributionParameters(x, orders, dropout, ComputePrecision.Float32);

    /// <summary><see cref="DistributionParameters(Tensor, IReadOnlyList{GenerationOrder}, Generator?)"/> with the products in <paramref name="precision"/>.</summary>
    internal Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout, ComputePrecision precision)
    {
        ModelInputs.CheckOrders(this, orders, nameof(orders));
        return Forward(x, dropout, precision);
    }

    /// <summary><see cref="ComputePrecision.Float32"/>: the model itself multiplies in its parameters' dtype (see <see cref="WithPrecision"/>).</summary>
    public ComputePrecision Precision => ComputePrecision.Float32;

    /// <summary>
    /// This model evaluated with its convolutions and 1x1 layers in <paramref name="precision"/>: the same module and
    /// parameters; the view does not own the model. The model itself for <see cref="ComputePrecision.Float32"/>.
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

    /// <summary>Log-likelihood in nats of every image, image i under <paramref name="orders"/>[i], each of which must be the raster order.</summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">N orders, all raster.</param>
    /// <returns>(N).</returns>
    /// <exception cref="ArgumentException">An order is not the raster order, or their number is not N.</exception>
    public Tensor LogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders) => ModelLikelihoods.PerImage(this, x, orders);

    /// <summary>
    /// Log-likelihood in nats of every image under every order (N, K): every order must be the raster order, so every
    /// column is the raster log-likelihood (computed once).
    /// </summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">K orders, all raster.</param>
    /// <param name="maxBatchSize">Most images per network pass; null tries all at once and halves while the device runs out of memory.</param>
    /// <returns>(N, K).</returns>
    /// <exception cref="ArgumentException">An order is not the raster order (named in the message).</exception>
    public Tensor PerOrderLogLikelihoods(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.PerOrder(this, x, orders, null, maxBatchSize);

    /// <summary>
    /// The order ensemble's log-likelihood: every order must be the raster order, and a mixture of one distribution is
    /// that distribution, so this is the raster log-likelihood.
    /// </summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">The orders, all raster.</param>
    /// <param name="maxBatchSize">Most images per network pass; null tries all at once.</param>
    /// <returns>(N).</returns>
    /// <exception cref="ArgumentException">An order is not the raster order.</exception>
    public Tensor EnsembleLogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.Ensemble(this, x, orders, maxBatchSize);

    /// <summary>
    /// Log-likelihood in nats of a region's pixels in raster order: the sum over the region's pixels of log p(pixel | the
    /// pixels before it in raster order). Unlike a locally masked model, which can generate the region last and so
    /// condition on every other pixel, PixelCNN++ conditions each region pixel only on what precedes it in raster order
    /// (observed pixels before the region and earlier region pixels; the pixels after it are not seen).
    /// </summary>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="region">The region to score.</param>
    /// <param name="orders">The raster order (or several copies of it; the API of <see cref="IAutoregressiveImageModel"/>).</param>
    /// <param name="maxBatchSize">Most images per network pass; null tries all at once.</param>
    /// <returns>(N).</returns>
    /// <exception cref="ArgumentException">The region does not fit the model or is empty, or an order is not raster.</exception>
    public Tensor RegionLogLikelihood(Tensor x, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.Region(this, x, region, orders, maxBatchSize);

    /// <summary>
    /// Copies a state dict with the authors' key names into the model, all or nothing: every key (after removing a
    /// leading <c>module.</c>) and shape is checked first, and all mismatches are reported together. Values are
    /// converted to the model's dtype and device; parameters keep requires_grad.
    /// </summary>
    /// <param name="stateDict">Weights by PyTorch name, e.g. from <c>PixelCnnCheckpoint.ReadStateDict</c>.</param>
    /// <exception cref="ArgumentException">Keys are missing, unexpected or mis-shaped, or a value is not floating point (all listed).</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var fit = StateDictFit.Of(this, stateDict);
        if (!fit.Fits)
            throw new ArgumentException(
                $"The state dict does not fit this PixelCNN++ ({fit.Problems.Count} problems; nothing was loaded):{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", fit.Problems), nameof(stateDict));
        fit.CopyInto(this);
    }

    private void CheckInput(Tensor x, string argumentName) => ModelInputs.CheckImages(this, x, argumentName);
}
