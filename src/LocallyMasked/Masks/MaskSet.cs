using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Masks;

/// <summary>
/// The three masks the Locally Masked PixelCNN++ needs for one generation order (shared by the batch) or
/// for one order per image: <see cref="First"/> (type A, dilation 1) for the input layer,
/// <see cref="Undilated"/> (type B, dilation 1) for the residual blocks and <see cref="Dilated"/>
/// (type B, the maximum dilation) for the downsize / upsize streams. Shared masks are (k*k, H*W);
/// per-sample masks are (N, k*k, H*W). Build them with the model's <c>MasksFor</c>,
/// which caches them on the model's device and dtype, or with <see cref="Create(GenerationOrder, int, int, ScalarType, Device?, IReadOnlyCollection{int}?)"/>.
/// </summary>
public sealed class MaskSet
{
    private readonly MaskSource?[] _sources;

    private MaskSet(Tensor first, Tensor undilated, Tensor dilated, int height, int width, int kernelSize, int dilation,
        IReadOnlyList<GenerationOrder> orders, bool fromOrdersAlone)
    {
        First = first;
        Undilated = undilated;
        Dilated = dilated;
        Height = height;
        Width = width;
        KernelSize = kernelSize;
        Dilation = dilation;
        Orders = orders;
        var perSample = first.dim() == 3;
        _sources = fromOrdersAlone
            ? new MaskSource?[]
            {
                new(orders, perSample, kernelSize, 1, MaskType.A),
                new(orders, perSample, kernelSize, 1, MaskType.B),
                new(orders, perSample, kernelSize, dilation, MaskType.B),
            }
            : new MaskSource?[3];
    }

    /// <summary>Type-A mask (centre excluded) at dilation 1, for the first layer.</summary>
    public Tensor First { get; }

    /// <summary>Type-B mask (centre included) at dilation 1, for the residual blocks.</summary>
    public Tensor Undilated { get; }

    /// <summary>Type-B mask at <see cref="Dilation"/>, for the downsize and upsize streams.</summary>
    public Tensor Dilated { get; }

    /// <summary>Image height the masks were built for.</summary>
    public int Height { get; }

    /// <summary>Image width the masks were built for.</summary>
    public int Width { get; }

    /// <summary>Kernel side of the masks.</summary>
    public int KernelSize { get; }

    /// <summary>Dilation of <see cref="Dilated"/>.</summary>
    public int Dilation { get; }

    /// <summary>The generation orders: one for shared masks, one per image for per-sample masks; empty for masks given as tensors.</summary>
    public IReadOnlyList<GenerationOrder> Orders { get; }

    /// <summary>Whether the masks hold one order per image, shaped (N, k*k, H*W).</summary>
    public bool IsPerSample => First.dim() == 3;

    /// <summary>Number of images of per-sample masks; null for shared masks.</summary>
    public long? BatchSize => IsPerSample ? First.shape[0] : null;

    /// <summary>Device of the masks.</summary>
    public Device Device => First.device;

    /// <summary>Element type of the masks.</summary>
    public ScalarType DType => First.dtype;

    /// <summary>Builds the masks of one order, shared by all images of a batch.</summary>
    /// <param name="order">The generation order.</param>
    /// <param name="kernelSize">Kernel side (odd).</param>
    /// <param name="dilation">Dilation of the dilated mask (&gt;= 1).</param>
    /// <param name="dtype">Element type (the model's parameter dtype).</param>
    /// <param name="device">Device (the model's device); the CPU when null.</param>
    /// <param name="observed">Pixels visible to every location (known context), or null.</param>
    public static MaskSet Create(GenerationOrder order, int kernelSize, int dilation, ScalarType dtype, Device? device = null,
        IReadOnlyCollection<int>? observed = null)
    {
        ArgumentNullException.ThrowIfNull(order);
        return new MaskSet(
            LocalMasks.Create(order, kernelSize, 1, MaskType.A, observed, dtype, device),
            LocalMasks.Create(order, kernelSize, 1, MaskType.B, observed, dtype, device),
            LocalMasks.Create(order, kernelSize, dilation, MaskType.B, observed, dtype, device),
            order.Height, order.Width, kernelSize, dilation, new[] { order }, observed is null);
    }

    /// <summary>Builds per-sample masks: image i uses <paramref name="orders"/>[i].</summary>
    /// <param name="orders">One order per image, all of one size.</param>
    /// <param name="kernelSize">Kernel side (odd).</param>
    /// <param name="dilation">Dilation of the dilated mask (&gt;= 1).</param>
    /// <param name="dtype">Element type (the model's parameter dtype).</param>
    /// <param name="device">Device (the model's device); the CPU when null.</param>
    /// <param name="observed">Pixels visible to every location in every image, or null.</param>
    public static MaskSet Create(IReadOnlyList<GenerationOrder> orders, int kernelSize, int dilation, ScalarType dtype, Device? device = null,
        IReadOnlyCollection<int>? observed = null)
    {
        OrderArguments.Check(orders, nameof(orders));
        return new MaskSet(
            LocalMasks.Create(orders, kernelSize, 1, MaskType.A, observed, dtype, device),
            LocalMasks.Create(orders, kernelSize, 1, MaskType.B, observed, dtype, device),
            LocalMasks.Create(orders, kernelSize, dilation, MaskType.B, observed, dtype, device),
            orders[0].Height, orders[0].Width, kernelSize, dilation, orders.ToArray(), observed is null);
    }

    /// <summary>
    /// Wraps masks given as tensors (for example masks with a custom visibility pattern). All three must be
    /// (k*k, H*W), or all (N, k*k, H*W) with one N, on one device and dtype.
    /// </summary>
    /// <param name="first">Type-A mask for the first layer.</param>
    /// <param name="undilated">Type-B mask for the residual blocks.</param>
    /// <param name="dilated">Type-B mask at <paramref name="dilation"/> for the resampling streams.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="kernelSize">Kernel side.</param>
    /// <param name="dilation">Dilation the dilated mask was built for.</param>
    public static MaskSet FromTensors(Tensor first, Tensor undilated, Tensor dilated, int height, int width, int kernelSize, int dilation)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(undilated);
        ArgumentNullException.ThrowIfNull(dilated);
        if (height < 1 || width < 1) throw new ArgumentException($"Expected a positive image size, got {height}x{width}.", nameof(height));
        if (kernelSize < 1 || kernelSize % 2 == 0) throw new ArgumentException($"Expected an odd kernel size, got {kernelSize}.", nameof(kernelSize));
        if (dilation < 1) throw new ArgumentException($"Expected a dilation of at least 1, got {dilation}.", nameof(dilation));
        long taps = kernelSize * kernelSize, pixels = (long)height * width;
        long[] expected = first.dim() == 3 ? new[] { first.shape[0], taps, pixels } : new[] { taps, pixels };
        foreach (var (mask, name) in new[] { (first, nameof(first)), (undilated, nameof(undilated)), (dilated, nameof(dilated)) })
        {
            if (!mask.shape.SequenceEqual(expected))
                throw new ArgumentException($"Expected a mask of shape ({string.Join(", ", expected)}), got ({string.Join(", ", mask.shape)}).", name);
            if (mask.dtype != first.dtype || !DeviceEquality.Same(mask.device, first.device))
                throw new ArgumentException("All three masks must share one device and dtype.", name);
        }
        return new MaskSet(first, undilated, dilated, height, width, kernelSize, dilation, Array.Empty<GenerationOrder>(), fromOrdersAlone: false);
    }

    /// <summary>Per-sample masks from shared ones: image i uses <paramref name="sets"/>[i].</summary>
    internal static MaskSet Stack(IReadOnlyList<MaskSet> sets)
    {
        var head = sets[0];
        return new MaskSet(
            stack(sets.Select(s => s.First).ToArray(), 0),
            stack(sets.Select(s => s.Undilated).ToArray(), 0),
            stack(sets.Select(s => s.Dilated).ToArray(), 0),
            head.Height, head.Width, head.KernelSize, head.Dilation, sets.SelectMany(s => s.Orders).ToArray(),
            sets.All(s => s._sources[0] is not null))
        {
            Parts = sets.ToArray(),
        };
    }

    /// <summary>
    /// For per-sample masks stacked from shared ones (<see cref="Stack"/>): the shared set of each sample, so that a
    /// forward pass can run each group of samples with one order on its shared masks (and their fast paths).
    /// </summary>
    internal IReadOnlyList<MaskSet>? Parts { get; private init; }

    /// <summary>
    /// What the mask of a role was computed from, so that the convolution can analyse it from its orders; null for masks
    /// given as tensors or built with observed pixels (those are analysed from their values).
    /// </summary>
    internal MaskSource? SourceOf(MaskRole role) => _sources[(int)role];

    /// <summary>Removes the three tensors from any dispose scope, so that a cached set outlives the caller's scope.</summary>
    internal MaskSet DetachFromDisposeScopes()
    {
        First.DetachFromDisposeScope();
        Undilated.DetachFromDisposeScope();
        Dilated.DetachFromDisposeScope();
        return this;
    }
}
