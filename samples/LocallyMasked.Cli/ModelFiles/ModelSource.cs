using LocallyMasked.Checkpoints;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.ModelFiles;

/// <summary>
/// Loads the model a command works with through the library's one loader: a training checkpoint of this program
/// (model type, configuration and orders stored in it), a checkpoint of the authors' main.py (configuration and orders from
/// its args; a baseline run without --ours gives a pixelcnn++ model), or another PyTorch <c>.pth</c> / TorchSharp weights
/// file (configuration from the tensor shapes and the data set's published model; the baseline's keys give a pixelcnn++
/// model). Every setting the file does not decide is printed as assumed, with the option that changes it; every option
/// that changes what the file records is printed as an override.
/// </summary>
public static class ModelSource
{
    /// <summary>A loaded model with what is known about it.</summary>
    /// <param name="Model">The model (lmconv or pixelcnn++), in eval mode.</param>
    /// <param name="Dataset">The data set it models.</param>
    /// <param name="Orders">The orders to use (for pixelcnn++ its raster order).</param>
    public sealed record Loaded(IAutoregressiveImageModel Model, DatasetDefinition Dataset, IReadOnlyList<GenerationOrder> Orders)
    {
        /// <summary>The training step the file records, or null.</summary>
        public long? Step { get; init; }
    }

    /// <summary>Loads a command's model file, printing what it assumes and overrides on <paramref name="terminal"/>.</summary>
    /// <param name="file">The model file and the options that say how to read it.</param>
    /// <param name="device">The device to load it on.</param>
    /// <param name="dataset">The --dataset typed, or null: the data set follows from the model's likelihood.</param>
    /// <param name="orders">--order and --orders (they replace the file's orders when typed).</param>
    /// <param name="terminal">Where the model's description and the notes go.</param>
    public static Loaded Load(ModelFileSettings file, Device device, DatasetDefinition? dataset, OrderChoice orders, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(terminal);
        string path = file.Checkpoint;
        LoadedModel loaded;
        if (file.Average.Count > 0)
        {
            var paths = new[] { path }.Concat(file.Average).ToArray();
            foreach (var p in paths)
                if (!File.Exists(p) || PixelCnnCheckpoint.DetectFormat(p) != CheckpointFormat.Training)
                    throw new InputError($"{p}: --average needs training checkpoints of this program.");
            loaded = PixelCnnCheckpoint.LoadAverage(paths, new ModelLoadOptions { Device = device });
            terminal.Line($"model: mean of the weights of {paths.Length} checkpoints ({string.Join(", ", paths)})");
        }
        else
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found (--checkpoint).", path);
            loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions
            {
                Device = device,
                Template = (dataset ?? Datasets.BinarizedMnist).Template,
                MovingAverageWeights = file.EmaWeights,
                Normalization = file.Normalization,
                MaxDilation = file.MaxDilation,
            });
            var config = loaded.Model.Configuration;
            string name = ModelCatalog.Get(loaded.Kind).Name;
            terminal.Line(loaded.Metadata is { } metadata
                ? $"model: {path} ({name}, step {metadata.Step}, {config.Filters} filters, {config.ResidualBlocks} blocks, {config.Likelihood})"
                : $"model: {path} ({name}, inferred: {config.Filters} filters, {config.ResidualBlocks} blocks, {config.Likelihood}, {config.MixtureComponents} mixtures)");
        }

        PrintNotes(loaded, path, terminal);
        var model = loaded.Model;
        try
        {
            // A typed --dataset is used (and checked against the model by the command); else the model's likelihood decides.
            var data = dataset ?? Datasets.For(model.Configuration);
            IReadOnlyList<GenerationOrder> chosen;
            if (model.SupportedOrders is { } only)
            {
                // pixelcnn++: its raster order; --order/--orders only when they mean it.
                orders.CheckRasterOnly(ModelCatalog.Get(model.Kind));
                chosen = only;
            }
            else chosen = orders.Given || loaded.Orders is null
                ? orders.Variants(model.Configuration.Height, model.Configuration.Width, terminal)
                : loaded.Orders;
            return new Loaded(model, data, SelectVariants(chosen, file.OrderVariants)) { Step = loaded.Metadata?.Step };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The orders chosen by --order-variants (indices into the model's orders, each once: <see cref="ModelFileSettings.OrderVariants"/>), or all.</summary>
    /// <param name="orders">The model's orders.</param>
    /// <param name="indices">The indices given, or none for all.</param>
    /// <exception cref="InputError">An index out of range.</exception>
    private static IReadOnlyList<GenerationOrder> SelectVariants(IReadOnlyList<GenerationOrder> orders, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) return orders;
        var bad = indices.Where(i => i < 0 || i >= orders.Count).ToArray();
        if (bad.Length > 0)
            throw new InputError($"--order-variants {string.Join(" ", indices)}: the model has orders 0..{orders.Count - 1}; {string.Join(", ", bad)} is out of range.");
        return indices.Select(i => orders[i]).ToArray();
    }

    /// <summary>One line for the assumed settings and one per override, naming the option that changes each.</summary>
    private static void PrintNotes(LoadedModel loaded, string path, Terminal terminal)
    {
        string Option(string setting) => setting switch
        {
            nameof(PixelCnnConfig.Normalization) => "--normalization",
            nameof(PixelCnnConfig.MaxDilation) => "--max-dilation",
            _ => setting,
        };
        string Value(ConfigurationNote note, string value) => note.Setting == nameof(PixelCnnConfig.Normalization)
            ? NormalizationNames.All.FirstOrDefault(kv => kv.Value.ToString() == value).Key ?? value
            : value;
        var assumed = loaded.Notes.Where(n => !n.IsOverride).ToArray();
        if (assumed.Length > 0)
            terminal.Line($"assumed (not recorded in {Path.GetFileName(path)}; the published models' settings): " +
                string.Join(", ", assumed.Select(n => $"{Option(n.Setting)} {Value(n, n.Value)}")) + "; give the option if the model was trained otherwise");
        foreach (var note in loaded.Notes.Where(n => n.IsOverride))
            terminal.Line($"override: {Option(note.Setting)} {Value(note, note.Value)} instead of the file's {Value(note, note.FileValue!)}");
        if (loaded.UsedAverage) terminal.Line("weights: the moving average of the weights (--ema-weights)");
    }
}
