using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>Argument checks shared by the PixelCNN++ baseline's layers.</summary>
internal static class ShiftedLayerChecks
{
    /// <summary>Throws unless <paramref name="x"/> is floating point with the dtype and device of <paramref name="parameter"/>.</summary>
    internal static void SameDtypeAndDevice(Tensor x, Tensor parameter, string argumentName)
    {
        if (x.dtype != parameter.dtype)
            throw new ArgumentException($"Expected input of dtype {parameter.dtype} (the layer's), got {x.dtype}.", argumentName);
        if (x.device.type != parameter.device.type || x.device.index != parameter.device.index)
            throw new ArgumentException($"Expected input on {parameter.device} (the layer's device), got {x.device}.", argumentName);
    }
}
