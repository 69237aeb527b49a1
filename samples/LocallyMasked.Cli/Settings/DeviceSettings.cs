using LocallyMasked.Training.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Settings;

/// <summary>Where a command computes: <c>--device cpu|cuda</c> and libtorch's CPU threads (<c>--threads</c>).</summary>
/// <param name="Type">CPU or CUDA.</param>
/// <param name="Threads">libtorch's CPU threads; null: the machine's cores.</param>
public sealed record DeviceSettings(DeviceType Type = DeviceType.CPU, int? Threads = null)
{
    /// <summary>The most --threads: OpenMP allocates per-thread state for the count asked (2^31 threads crashed libgomp).</summary>
    public const int MaxThreads = 1024;

    /// <summary>
    /// The torch device, after checking that CUDA is there when asked for. Every command that computes with tensors asks
    /// for it first, so libtorch's NNPACK path is turned off here, before any convolution: on CPUs NNPACK does not support,
    /// libtorch would otherwise print a warning on runs that succeed (<see cref="NnpackConvolutions"/>).
    /// </summary>
    /// <exception cref="InputError">--device cuda without a CUDA device.</exception>
    public Device Resolve()
    {
        NnpackConvolutions.Disable();
        if (Type != DeviceType.CUDA) return CPU;
        if (!cuda.is_available())
            throw new InputError("--device cuda: no CUDA device is available (this build uses the CPU backend package TorchSharp-cpu; build with -p:TorchBackend=cuda).");
        return CUDA;
    }

    /// <summary>Sets libtorch's CPU threads to <see cref="Threads"/> until the returned handle is disposed.</summary>
    public IDisposable ApplyThreads()
    {
        int previous = torch.get_num_threads();
        if (Threads is { } threads) torch.set_num_threads(threads);
        return new RestoreThreads(previous);
    }

    /// <summary>
    /// The --workers default of train and evaluate: 2 on a CPU with at least 2 libtorch threads (small models are bound
    /// by the cost of issuing operations there), else 1.
    /// </summary>
    /// <param name="device">The model's device.</param>
    public static int DefaultWorkers(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.type == DeviceType.CPU && torch.get_num_threads() >= 2 ? 2 : 1;
    }

    private sealed class RestoreThreads(int previous) : IDisposable
    {
        public void Dispose() => torch.set_num_threads(previous);
    }
}
