using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// What completing test images needs once the model is loaded, checked in one place for one process
/// (<see cref="CompleteCommand"/>) and for the ranks' parts (<see cref="CompleteParts"/>): the region or mask, the test
/// images, the sampler in the chosen precision and the completion order.
/// </summary>
/// <param name="Config">The model's configuration.</param>
/// <param name="Area">The pixels to complete.</param>
/// <param name="Test">The test images.</param>
/// <param name="Sampler">The sampler, over the model in the chosen precision.</param>
/// <param name="Order">The order the sampler completes in: the area last where the model allows it.</param>
/// <param name="Encoding">How the model's data set encodes pixels.</param>
public sealed record TestImageCompletion(IImageModelConfig Config, ImageRegion Area, ImageDataset Test, ImageSampler Sampler, GenerationOrder Order, InputEncoding Encoding)
{
    /// <summary>Checks the settings against the loaded model and its test images, and prints the order line.</summary>
    /// <param name="settings">The command's settings.</param>
    /// <param name="loaded">The loaded model.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static TestImageCompletion Prepare(CompleteSettings settings, ModelSource.Loaded loaded, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(terminal);
        string path = settings.Model.Checkpoint;
        var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        var config = model.Configuration;
        DataChecks.DataFitsModel(loaded.Dataset, config, path);
        var area = settings.Mask is { } mask ? CompleteCommand.TestImageMask(mask, config, settings.Data.MaxImagePixels) : settings.Region.For(config.Height, config.Width);
        if (settings.OrderIndex >= loaded.Orders.Count)
            throw new InputError($"--order-index {settings.OrderIndex}: the model has orders 0 to {loaded.Orders.Count - 1}.");
        var folder = DataSources.FolderOf(settings.Data, loaded.Dataset, terminal);
        var test = DataChecks.NotEmpty(DataSources.Read(settings.Data, loaded.Dataset, folder, train: false, terminal, config), "test");
        DataChecks.ImagesFitModel(test, config, path);
        if (settings.First + (long)settings.Count > test.Count)
            throw new InputError($"--first {settings.First} --count {settings.Count}: the test set has {test.Count} images (indices 0 to {test.Count - 1}).");
        var sampler = settings.Sampler.Create(computing, terminal);
        var order = sampler.CompletionOrder(loaded.Orders[settings.OrderIndex], area);
        terminal.Line(PictureCompletion.OrderLine(model, area));
        return new TestImageCompletion(config, area, test, sampler, order, loaded.Dataset.Encoding);
    }
}
