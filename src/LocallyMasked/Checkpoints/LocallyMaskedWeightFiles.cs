using System.Globalization;
using LocallyMasked.Layers;
using LocallyMasked.Models;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// A <see cref="LocallyMaskedPixelCnn"/> from a weight file of the authors' code (their <c>main.py</c> with <c>--ours</c>,
/// read by <see cref="PyTorchFiles"/>) or this library's TorchSharp weights: the configuration from the reference code's
/// <c>args</c> checked against the tensor shapes, or from the shapes alone with the two settings they cannot tell
/// (normalization, dilation) assumed and noted; the caller's overrides; their orders rebuilt.
/// </summary>
internal static class LocallyMaskedWeightFiles
{
    /// <summary>Builds and fills the model (in evaluation mode); nothing is built unless every check passes.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format.</param>
    /// <param name="contents">Its weights and arguments.</param>
    /// <param name="arguments">The parsed arguments, or null.</param>
    /// <param name="options">The caller's options.</param>
    public static LoadedModel Load(string path, CheckpointFormat format, PyTorchFiles.Contents contents, ReferenceArguments? arguments,
        ModelLoadOptions options)
    {
        var source = $"'{path}'";
        var shapes = CheckpointConfigInference.Infer(contents.Weights, options.Template);
        PixelCnnConfig config;
        var notes = new List<ConfigurationNote>();
        if (arguments is not null)
            config = arguments.Configure(shapes, notes, source);
        else
        {
            config = shapes;
            if (config.Normalization != FeatureNormalization.WeightNorm)
                notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.Normalization), config.Normalization.ToString(), null));
            notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.MaxDilation), config.MaxDilation.ToString(CultureInfo.InvariantCulture), null));
        }
        config = LoadOverrides.Apply(config, options, notes, source);
        var (height, width) = LoadOverrides.Resize(config.Height, config.Width, options, notes, arguments is not null);
        config = config with { Height = height, Width = width };
        LoadOverrides.CheckImageSize(height, width, options, source);
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{source}: the configuration it implies is invalid: {e.Message}", e);
        }
        var orders = arguments?.BuildOrders(config.Height, config.Width, source);

        var model = new LocallyMaskedPixelCnn(config, options.Device, options.DType);
        try
        {
            PixelCnnCheckpoint.LoadStateDict(model, contents.Weights, source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return new LoadedModel(model, format, orders, null, options.MovingAverageWeights, notes);
    }
}
