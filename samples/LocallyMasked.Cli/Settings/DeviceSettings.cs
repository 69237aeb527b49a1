using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Training.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// Where and how a command computes: <c>--device cpu|cuda</c>, libtorch's CPU threads (<c>--threads</c>) and the
/// precision of the model's products (<c>--precision 32|bf16-mixed</c>).
/// </summary>
/// <param name="Type">CPU or CUDA.</param>
/// <param name="Threads">libtorch's CPU threads; null: the machine's cores.</param>
/// <param name="Precision">--precision when typed; null: float32, or for a resumed training run the stored precision.</param>
public sealed record DeviceSettings(DeviceType Type = DeviceType.CPU, int? Threads = null, ComputePrecision? Precision = null)
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

    /// <summary>
    /// The model evaluated in <see cref="Precision"/> (float32 when not typed), with a line when the device has no bf16
    /// units (the products are then emulated, slower than float32).
    /// </summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="terminal">Where the line goes.</param>
    /// <exception cref="InputError">bf16-mixed for a model that is not float32.</exception>
    public IAutoregressiveImageModel InPrecision(IAutoregressiveImageModel model, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(model);
        var precision = Precision ?? ComputePrecision.Float32;
        CheckModel(precision, model.DType);
        ReportEmulation(precision, model.Device, terminal);
        return model.WithPrecision(precision);
    }

    /// <summary>Refuses a mixed precision for parameters that are not float32, in one line naming --precision.</summary>
    /// <param name="precision">The precision.</param>
    /// <param name="dtype">The model's parameters' dtype.</param>
    /// <exception cref="InputError">The combination does not exist.</exception>
    public static void CheckModel(ComputePrecision precision, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(precision);
        if (precision.IsMixed && dtype != ScalarType.Float32)
            throw new InputError(
                $"--precision {precision}: the model's parameters are {dtype}; {precision} keeps float32 master weights, so it needs a float32 model (use --precision 32).");
    }

    /// <summary>Says so, in one line, when a mixed precision runs on a device without bf16 units (not an error).</summary>
    /// <param name="precision">The precision.</param>
    /// <param name="device">The model's device.</param>
    /// <param name="terminal">Where the line goes.</param>
    public static void ReportEmulation(ComputePrecision precision, Device device, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(precision);
        ArgumentNullException.ThrowIfNull(terminal);
        if (precision.IsMixed && !BFloat16Support.IsNative(device, out var evidence))
            terminal.Line(EmulationLine(precision, evidence));
    }

    /// <summary>The line <see cref="ReportEmulation"/> prints.</summary>
    /// <param name="precision">The precision.</param>
    /// <param name="evidence">What showed the missing units.</param>
    public static string EmulationLine(ComputePrecision precision, string evidence) =>
        $"precision: {precision} without bf16 units on this device ({evidence}): libtorch emulates bf16, slower than --precision 32; the results are the same";

    private sealed class RestoreThreads(int previous) : IDisposable
    {
        public void Dispose() => torch.set_num_threads(previous);
    }
}
