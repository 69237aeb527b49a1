using LocallyMasked.Orders;

namespace LocallyMasked.Masks;

/// <summary>
/// What a mask tensor was computed from, when orders alone decide it (<see cref="LocalMasks"/> without observed
/// pixels): one order shared by the batch, or one order per image, with the kernel, the dilation and the type. The
/// convolution analyses such a mask from its orders on the host, once per order, instead of reading the tensor back.
/// </summary>
/// <param name="Orders">One order (shared by the batch) or one per image.</param>
/// <param name="PerSample">Whether the mask holds one order per image, shaped (N, k*k, H*W).</param>
/// <param name="KernelSize">Kernel side.</param>
/// <param name="Dilation">Dilation.</param>
/// <param name="Type">Mask type.</param>
internal sealed record MaskSource(IReadOnlyList<GenerationOrder> Orders, bool PerSample, int KernelSize, int Dilation, MaskType Type);
