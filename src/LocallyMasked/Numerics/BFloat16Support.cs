using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Numerics;

/// <summary>
/// Whether a device multiplies bfloat16 in hardware. Without bf16 units libtorch emulates bf16 products (converting to
/// float32 and back around float32 arithmetic), so <see cref="ComputePrecision.BFloat16Mixed"/> runs slower than float32
/// there: worth a line to the user, not an error (the results are the same).
/// </summary>
/// <remarks>
/// On Linux x86-64 and arm64 the CPU's flags decide (<c>avx512_bf16</c> or <c>amx_bf16</c>; arm64's <c>bf16</c>
/// feature), read from <c>/proc/cpuinfo</c>. Elsewhere, and on CUDA devices (GPUs before Ampere run bf16 without tensor
/// cores), a short measurement decides: bf16 products of 512 x 512 matrices must beat float32's.
/// </remarks>
public static class BFloat16Support
{
    private static readonly Dictionary<string, (bool Native, string Evidence)> Detected = new();

    /// <summary>Whether <paramref name="device"/> has bf16 units; detected once per device and process.</summary>
    /// <param name="device">A device.</param>
    /// <param name="evidence">What decided it, for messages (the CPU flag found or missing, or the measured ratio).</param>
    public static bool IsNative(Device device, out string evidence)
    {
        ArgumentNullException.ThrowIfNull(device);
        var key = device.ToString();
        (bool Native, string Evidence) result;
        lock (Detected)
        {
            if (!Detected.TryGetValue(key, out result))
            {
                result = device.type == DeviceType.CPU && FromCpuInfo() is { } flags ? flags : Measure(device);
                Detected[key] = result;
            }
        }
        evidence = result.Evidence;
        return result.Native;
    }

    /// <summary>The answer of a <c>/proc/cpuinfo</c> text, or null when it says nothing about bf16 (another architecture).</summary>
    /// <param name="cpuInfo">The file's text.</param>
    internal static (bool Native, string Evidence)? FromCpuInfo(string cpuInfo)
    {
        ArgumentNullException.ThrowIfNull(cpuInfo);
        var lines = cpuInfo.Split('\n');
        var x86 = lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        if (x86 is not null)
        {
            var flags = x86[(x86.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var found = flags.Where(f => f is "avx512_bf16" or "amx_bf16").ToArray();
            return found.Length > 0 ? (true, $"cpu flags {string.Join(", ", found)}") : (false, "no avx512_bf16 or amx_bf16 cpu flag");
        }

        var arm = lines.FirstOrDefault(l => l.StartsWith("Features", StringComparison.Ordinal));
        if (arm is not null)
        {
            var features = arm[(arm.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return features.Contains("bf16") ? (true, "cpu feature bf16") : (false, "no bf16 cpu feature");
        }

        return null;
    }

    private static (bool Native, string Evidence)? FromCpuInfo()
    {
        const string path = "/proc/cpuinfo";
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !File.Exists(path)) return null;
        try
        {
            return FromCpuInfo(File.ReadAllText(path));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>bf16 against float32 products of 512 x 512 matrices on the device, fastest of 5 each.</summary>
    private static (bool Native, string Evidence) Measure(Device device)
    {
        using var scope = NewDisposeScope();
        double Fastest(ScalarType dtype)
        {
            var a = ones(new long[] { 512, 512 }, dtype, device);
            var best = double.MaxValue;
            for (var i = 0; i < 6; i++)
            {
                Synchronize(device);
                var clock = Stopwatch.StartNew();
                using var product = a.mm(a);
                Synchronize(device);
                // The first call warms the kernels up.
                if (i > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            return best;
        }

        var ratio = Fastest(ScalarType.Float32) / Fastest(ScalarType.BFloat16);
        return (ratio > 1.0, FormattableString.Invariant($"bf16 products measured at {ratio:F1}x float32's speed"));
    }

    private static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }
}
