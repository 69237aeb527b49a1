using LocallyMasked.Models;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>Checks that data fits the model a command uses, before any work; each failure is an <see cref="InputError"/>.</summary>
public static class DataChecks
{
    /// <summary>Checks that a model's likelihood head models the data set it is used with (<see cref="DatasetDefinition.Fits"/>).</summary>
    /// <param name="dataset">The data set.</param>
    /// <param name="config">The model's configuration.</param>
    /// <param name="checkpoint">The model's file.</param>
    public static void DataFitsModel(DatasetDefinition dataset, IImageModelConfig config, string checkpoint)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(config);
        if (dataset.Fits(config.Likelihood, config.ImageChannels)) return;
        string fitting = Datasets.For(config).Name;
        throw new InputError(
            $"--dataset {dataset.Name}: the model in {checkpoint} has a {config.Likelihood} likelihood, which models {fitting} data; " +
            $"use --dataset {fitting} or leave --dataset out.");
    }

    /// <summary>Checks that images have the size and channels a model takes.</summary>
    /// <param name="data">The images.</param>
    /// <param name="config">The model's configuration.</param>
    /// <param name="checkpoint">The model's file.</param>
    public static void ImagesFitModel(ImageDataset data, IImageModelConfig config, string checkpoint)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(config);
        if (data.Channels != config.ImageChannels || data.Height != config.Height || data.Width != config.Width)
            throw new InputError(
                $"{data.Name}: holds {data.Channels}x{data.Height}x{data.Width} images but the model in {checkpoint} takes " +
                $"{config.ImageChannels}x{config.Height}x{config.Width}; use --data and --dataset of the model's data.");
    }

    /// <summary>Checks that a data set holds images.</summary>
    /// <param name="data">The images.</param>
    /// <param name="what">Which split ("training", "test").</param>
    public static ImageDataset NotEmpty(ImageDataset data, string what)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new InputError($"{data.Name}: holds no {what} images; check --data.");
        return data;
    }
}
