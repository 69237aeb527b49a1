using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Masks;

/// <summary>
/// Builds the per-location masks that an order induces on a <c>k x k</c> convolution: entry
/// <c>[t, p]</c> is 1 when kernel tap <c>t</c>, centred on pixel <c>p</c>, lands on a pixel that is
/// visible to <c>p</c>, and 0 otherwise (later pixels and padding).
/// </summary>
/// <remarks>
/// Taps are numbered row-major, <c>t = ki * k + kj</c>, the order of a conv2d weight's kernel and
/// of <c>unfold</c>'s rows; tap <c>t</c> has the offset <c>((ki - k/2) * dilation, (kj - k/2) * dilation)</c>.
/// A tap is visible when its pixel comes earlier in the order, is observed, or (type B) is the centre;
/// an observed pixel's own taps see only observed pixels, so that the context never carries information
/// about generated pixels.
/// </remarks>
public static class LocalMasks
{
    /// <summary>
    /// The mask of one order: a tensor of shape <c>(k * k, H * W)</c> holding 0 and 1.
    /// </summary>
    /// <param name="order">The generation order.</param>
    /// <param name="kernelSize">The kernel side; odd and at least 1.</param>
    /// <param name="dilation">The kernel dilation; at least 1.</param>
    /// <param name="type">Whether the centre tap is visible (<see cref="MaskType.B"/>) or not.</param>
    /// <param name="observed">Pixels that are always visible (known context), or <c>null</c>.</param>
    /// <param name="dtype">The element type of the result.</param>
    /// <param name="device">The device of the result; the CPU when <c>null</c>.</param>
    public static Tensor Create(
        GenerationOrder order, int kernelSize, int dilation, MaskType type,
        IReadOnlyCollection<int>? observed = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(order);
        Validate(kernelSize, dilation, type);
        byte[] values = Compute(order, kernelSize, dilation, type, ObservedFlags(order, observed));
        return ToTensor(values, new long[] { kernelSize * kernelSize, order.PixelCount }, dtype, device);
    }

    /// <summary>
    /// The masks of one order per sample: a tensor of shape <c>(B, k * k, H * W)</c>.
    /// </summary>
    /// <param name="orders">One order per sample, all of the same image size.</param>
    /// <param name="kernelSize">The kernel side; odd and at least 1.</param>
    /// <param name="dilation">The kernel dilation; at least 1.</param>
    /// <param name="type">Whether the centre tap is visible (<see cref="MaskType.B"/>) or not.</param>
    /// <param name="observed">Pixels that are always visible in every sample, or <c>null</c>.</param>
    /// <param name="dtype">The element type of the result.</param>
    /// <param name="device">The device of the result; the CPU when <c>null</c>.</param>
    public static Tensor Create(
        IReadOnlyList<GenerationOrder> orders, int kernelSize, int dilation, MaskType type,
        IReadOnlyCollection<int>? observed = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        OrderArguments.Check(orders, nameof(orders));
        Validate(kernelSize, dilation, type);
        int taps = kernelSize * kernelSize, pixels = orders[0].PixelCount;
        var values = new byte[orders.Count * taps * pixels];
        for (int b = 0; b < orders.Count; b++)
            Compute(orders[b], kernelSize, dilation, type, ObservedFlags(orders[b], observed)).CopyTo(values, b * taps * pixels);
        return ToTensor(values, new long[] { orders.Count, taps, pixels }, dtype, device);
    }

    /// <summary>
    /// The mask as plain bytes, laid out as <c>(k * k, H * W)</c>: the reference computation,
    /// usable without libtorch.
    /// </summary>
    /// <param name="order">The generation order.</param>
    /// <param name="kernelSize">The kernel side; odd and at least 1.</param>
    /// <param name="dilation">The kernel dilation; at least 1.</param>
    /// <param name="type">Whether the centre tap is visible.</param>
    /// <param name="observed">Pixels that are always visible, or <c>null</c>.</param>
    public static byte[] CreateArray(
        GenerationOrder order, int kernelSize, int dilation, MaskType type, IReadOnlyCollection<int>? observed = null)
    {
        ArgumentNullException.ThrowIfNull(order);
        Validate(kernelSize, dilation, type);
        return Compute(order, kernelSize, dilation, type, ObservedFlags(order, observed));
    }

    private static byte[] Compute(GenerationOrder order, int k, int dilation, MaskType type, bool[]? observed)
    {
        int height = order.Height, width = order.Width, pixels = order.PixelCount, half = k / 2;
        IReadOnlyList<int> ranks = order.Ranks;
        var mask = new byte[k * k * pixels];
        for (int p = 0; p < pixels; p++)
        {
            int r = p / width, c = p % width, rank = ranks[p];
            for (int ki = 0; ki < k; ki++)
            {
                int rr = r + (ki - half) * dilation;
                if (rr < 0 || rr >= height) continue;
                for (int kj = 0; kj < k; kj++)
                {
                    int cc = c + (kj - half) * dilation;
                    if (cc < 0 || cc >= width) continue;
                    int q = rr * width + cc;
                    bool visible;
                    if (observed is null) visible = q == p ? type == MaskType.B : ranks[q] < rank;
                    // Observed pixels are visible to every pixel, but an observed pixel itself sees only observed
                    // pixels: were it to see an earlier generated pixel, that pixel would reach every later layer's
                    // view of it, including pixels generated before that one (a leak through the context).
                    else if (observed[q]) visible = true;
                    else visible = !observed[p] && (q == p ? type == MaskType.B : ranks[q] < rank);
                    if (visible) mask[(ki * k + kj) * pixels + p] = 1;
                }
            }
        }
        return mask;
    }

    private static bool[]? ObservedFlags(GenerationOrder order, IReadOnlyCollection<int>? observed)
    {
        if (observed is null) return null;
        var flags = new bool[order.PixelCount];
        foreach (int p in observed)
        {
            if ((uint)p >= (uint)flags.Length)
            {
                throw new ArgumentException(
                    $"Observed pixel {p} is outside [0, {flags.Length}) for a {order.Height}x{order.Width} image.", nameof(observed));
            }
            flags[p] = true;
        }
        return flags;
    }

    private static Tensor ToTensor(byte[] values, long[] shape, ScalarType dtype, Device? device)
    {
        using var bytes = torch.tensor(values, shape, ScalarType.Byte);
        return bytes.to(dtype, device ?? CPU);
    }

    private static void Validate(int kernelSize, int dilation, MaskType type)
    {
        if (kernelSize < 1 || kernelSize % 2 == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The kernel size must be odd and at least 1.");
        }
        if (dilation < 1) throw new ArgumentOutOfRangeException(nameof(dilation), dilation, "The dilation must be at least 1.");
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Expected MaskType.A or MaskType.B.");
    }
}
