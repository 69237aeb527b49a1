using static TorchSharp.torch;

namespace LocallyMasked.Masks;

/// <summary>Device identity: TorchSharp's <see cref="Device"/> objects are compared by reference, devices by type and index.</summary>
internal static class DeviceEquality
{
    /// <summary>Whether two devices are the same device (type and index).</summary>
    public static bool Same(Device a, Device b) => a.type == b.type && a.index == b.index;
}
