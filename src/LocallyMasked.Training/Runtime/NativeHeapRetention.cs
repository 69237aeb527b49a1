using System.Runtime.InteropServices;

namespace LocallyMasked.Training.Runtime;

/// <summary>
/// Keeps freed native memory in glibc's heap for reuse instead of returning it to the kernel after every large free.
/// libtorch's CPU tensors come from <c>malloc</c>; with glibc's adaptive defaults a training or sampling step that
/// allocates and frees blocks of several megabytes (masked columns, activations) can hand the top of the heap back
/// after each free and fault the same pages in, zeroed, on the next allocation, which makes such steps slower and
/// their timings erratic (docs/benchmarks.md, "heap retention"). Nothing happens unless an application calls
/// <see cref="Retain"/>, once, at start;
/// the cost is that the process keeps its peak heap size, as jemalloc or tcmalloc would. glibc gives other threads
/// arenas of their own, which still unmap a heap that becomes entirely free; the main thread's heap, where the samples
/// program and the benchmarks run their models, keeps everything.
/// </summary>
public static class NativeHeapRetention
{
    /// <summary>Blocks below this size come from the reusable heap rather than from a fresh mapping.</summary>
    public const int MapThresholdBytes = 32 << 20;

    /// <summary>Free memory at the top of the heap up to this size stays in the process.</summary>
    public const int TrimThresholdBytes = 1 << 30;

    // glibc's mallopt parameter numbers (malloc.h).
    private const int TrimThreshold = -1;
    private const int MapThreshold = -3;

    /// <summary>
    /// Sets glibc's mmap threshold to <see cref="MapThresholdBytes"/> and its trim threshold to
    /// <see cref="TrimThresholdBytes"/> for this process, unless the caller's environment already sets either
    /// (<c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c>, or <c>glibc.malloc.mmap_threshold</c> /
    /// <c>glibc.malloc.trim_threshold</c> in <c>GLIBC_TUNABLES</c>). Safe to call at any time and more than once.
    /// </summary>
    /// <returns>True when both settings apply; false on other C libraries or operating systems, or when the environment decides.</returns>
    public static bool Retain()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (UserDecides()) return false;
        try
        {
            // mallopt returns 1 on success and 0 on error.
            return MallocOption(MapThreshold, MapThresholdBytes) == 1 && MallocOption(TrimThreshold, TrimThresholdBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no mallopt): nothing to tune.
            return false;
        }
    }

    /// <summary>Whether the environment already sets either threshold (then it is left alone).</summary>
    internal static bool UserDecides()
    {
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null)
            return true;
        var tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? string.Empty;
        return tunables.Contains("glibc.malloc.mmap_threshold", StringComparison.Ordinal)
            || tunables.Contains("glibc.malloc.trim_threshold", StringComparison.Ordinal);
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallocOption(int parameter, int value);
}
