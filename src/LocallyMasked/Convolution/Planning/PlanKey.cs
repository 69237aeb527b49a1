using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>What a plan depends on besides its mask: the layer call's batch and channels, the dtype and device of the
/// tensors the plan keeps, and the policy that chose its path.</summary>
/// <param name="Batch">Batch size N.</param>
/// <param name="InChannels">Input channels C.</param>
/// <param name="OutChannels">Output channels O.</param>
/// <param name="DType">dtype of the input.</param>
/// <param name="DeviceType">Device type of the input.</param>
/// <param name="DeviceIndex">Device index of the input.</param>
/// <param name="Policy">The planning policy.</param>
internal readonly record struct PlanKey(long Batch, long InChannels, long OutChannels, ScalarType DType, DeviceType DeviceType, int DeviceIndex,
    PlanningPolicy Policy)
{
    /// <summary>The key of a call with input <paramref name="x"/> (N, C, H, W).</summary>
    public static PlanKey For(Tensor x, long outChannels, PlanningPolicy policy) =>
        new(x.shape[0], x.shape[1], outChannels, x.dtype, x.device_type, x.device_index, policy);
}
