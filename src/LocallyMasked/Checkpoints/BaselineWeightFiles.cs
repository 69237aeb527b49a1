using LocallyMasked.Models;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// A <see cref="PixelCnnPlusPlus"/> from weights with the baseline's keys (<c>ul_init.*</c>, <c>upsize_ul_stream.*</c>):
/// pclucas14/pixel-cnn-pp's bare state dicts, the authors' <c>main.py</c> files of their <c>baseline.py</c> (whose
/// <c>args</c> decide image size, bits, filters, blocks, mixtures and binarization), and TorchSharp weights of one. The
/// image size of a file without <c>args</c> comes from <see cref="ModelLoadOptions.Template"/>.
/// </summary>
internal static class BaselineWeightFiles
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
        LoadOverrides.CheckBaseline(options, source);
        var config = CheckpointConfigInference.InferBaseline(contents.Weights, options.Template);
        if (arguments is not null) config = arguments.ConfigureBaseline(config, source);
        var notes = new List<ConfigurationNote>();
        var (height, width) = LoadOverrides.Resize(config.Height, config.Width, options, notes, arguments is not null);
        config = config with { Height = height, Width = width };
        LoadOverrides.CheckImageSize(height, width, options, source);
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{source}: the PixelCNN++ configuration it implies is invalid: {e.Message}", e);
        }

        var model = new PixelCnnPlusPlus(config, options.Device, options.DType);
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
        return new LoadedModel(model, format, model.SupportedOrders, null, options.MovingAverageWeights, notes);
    }
}
