using System.Globalization;
using LocallyMasked.Models;
using LocallyMasked.Training;
using LocallyMasked.Training.Memory;
using TorchSharp;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// train's check that a run fits in memory, before the model is built: the training package's estimate of the peak
/// (<see cref="TrainingMemory"/>) against what this process may still use (<see cref="AvailableMemory"/>). A run that
/// does not fit is refused in one line giving both figures and the options that size it; --no-memory-check runs it
/// anyway. On a GPU the activations live in device memory, which the estimate does not cover: the check is for the CPU.
/// </summary>
public static class MemoryCheck
{
    /// <summary>The options that size a run's memory, for the message.</summary>
    public const string SizingOptions = "--batch-size, --filters, --blocks, --mixtures or --size";

    /// <summary>The image x order pairs of one pass of train's final evaluation.</summary>
    public const int FinalEvaluationBatch = 64;

    /// <summary>Estimates the run's peak, says it, and refuses the run when it exceeds the memory available.</summary>
    /// <param name="setup">What the run trains, on what data.</param>
    /// <param name="options">The trainer settings the run uses.</param>
    /// <param name="finalImages">Test images of the final evaluation (0: all).</param>
    /// <param name="device">The model's device.</param>
    /// <param name="enforce">False with --no-memory-check: say the estimate, refuse nothing.</param>
    /// <param name="terminal">Where the estimate is said.</param>
    /// <param name="available">The memory available; read from the system when null.</param>
    /// <exception cref="InputError">The estimate exceeds the memory available.</exception>
    public static void Train(TrainingSetup setup, TrainerOptions options, int finalImages, torch.Device device, bool enforce, Terminal terminal, AvailableMemory? available = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(terminal);
        if (device.type != DeviceType.CPU) return;
        long dataBytes = checked((setup.Train.Count + (long)setup.Test.Count) * setup.Train.ImageSize);
        // The final evaluation runs up to FinalEvaluationBatch image x order pairs at once (EvaluationTable).
        long images = finalImages > 0 ? Math.Min(finalImages, setup.Test.Count) : setup.Test.Count;
        int pairs = (int)Math.Min(FinalEvaluationBatch, images * (setup.Config is PixelCnnConfig ? setup.Orders.Count : 1));
        if (Check(setup.Config, options, setup.Orders.Count, dataBytes, pairs, enforce, available) is { } said) terminal.Line(said);
    }

    /// <summary>
    /// The same check before a folder of images is read at a --size the model is known from: a lower bound (one order, no
    /// images, no evaluation), so that images resized to a size no run could train on are refused before they are
    /// decoded and resized.
    /// </summary>
    /// <param name="config">The model's configuration at the size asked for.</param>
    /// <param name="options">The trainer settings the run uses.</param>
    /// <param name="device">The model's device type.</param>
    /// <param name="enforce">False with --no-memory-check.</param>
    /// <param name="available">The memory available; read from the system when null.</param>
    /// <exception cref="InputError">Even the lower bound exceeds the memory available.</exception>
    public static void BeforeReading(IImageModelConfig config, TrainerOptions options, DeviceType device, bool enforce, AvailableMemory? available = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        if (device == DeviceType.CPU && enforce) Check(config, options, 1, 0, 0, enforce, available);
    }

    /// <summary>Refuses a run whose estimate exceeds the memory available (with <paramref name="enforce"/>); else says both figures.</summary>
    private static string? Check(IImageModelConfig config, TrainerOptions options, int orders, long dataBytes, int pairs, bool enforce, AvailableMemory? available)
    {
        TrainingMemoryEstimate estimate;
        try
        {
            estimate = TrainingMemory.Estimate(config, options, orders, dataBytes, pairs);
        }
        catch (OverflowException e)
        {
            if (!enforce) return null;
            throw new InputError($"train: the memory this run needs does not fit in a 64-bit count (by estimate; {Describe(config, options)}); " +
                                 $"use a smaller {SizingOptions}.", e);
        }
        var room = available ?? AvailableMemory.Read();
        string needs = $"about {AvailableMemory.Format(estimate.Total)} at the peak by estimate (±{TrainingMemoryEstimate.Accuracy:P0})" +
                       (estimate.KernelCache > 0 ? $", {AvailableMemory.Format(estimate.KernelCache)} of it oneDNN's cache of bf16 kernels" : "");
        string has = $"{AvailableMemory.Format(room.ProcessLimit)} are available to this process ({room.Source})";
        if (enforce && estimate.Total > room.ProcessLimit)
            throw new InputError(string.Create(CultureInfo.InvariantCulture,
                $"train: this run needs {needs}, most of it {estimate.LargestPart} ({Describe(config, options)}), but only {has}; " +
                $"use a smaller {SizingOptions}, or pass --no-memory-check to try anyway."));
        return $"memory: {needs}; {has}";
    }

    private static string Describe(IImageModelConfig c, TrainerOptions options) =>
        string.Create(CultureInfo.InvariantCulture,
            $"--batch-size {options.BatchSize} of {c.ImageChannels}x{c.Height}x{c.Width} images, --filters {c.Filters}, --blocks {c.ResidualBlocks}, " +
            $"{c.ParameterChannels} output channels");
}
