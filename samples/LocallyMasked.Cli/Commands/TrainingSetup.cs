using LocallyMasked.Checkpoints;
using LocallyMasked.Cli.Data;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// What a <c>train</c> run trains, and on what: a new model, its orders and trainer settings from the command line, or
/// those stored in the checkpoint it resumes; the data set and its two splits. Everything is checked here, before any
/// work starts.
/// </summary>
/// <param name="Dataset">The data set.</param>
/// <param name="Definition">The model's catalog entry.</param>
/// <param name="Config">The model's configuration.</param>
/// <param name="Orders">The order set.</param>
/// <param name="Options">The trainer settings (without the workers, which follow the device).</param>
/// <param name="Train">The training images.</param>
/// <param name="Test">The test images.</param>
/// <param name="Resumed">The checkpoint's metadata when the run resumes; null for a new run.</param>
public sealed record TrainingSetup(DatasetDefinition Dataset, ModelDefinition Definition, IImageModelConfig Config, IReadOnlyList<GenerationOrder> Orders,
    TrainerOptions Options, ImageDataset Train, ImageDataset Test, CheckpointMetadata? Resumed)
{
    /// <summary>Reads the checkpoint to resume (if any) and the data, and settles the model, orders and trainer settings.</summary>
    /// <param name="settings">The command's settings.</param>
    /// <param name="terminal">Where downloads, warnings and order substitutions are reported.</param>
    /// <exception cref="InputError">The checkpoint, the data or the options do not fit together (named).</exception>
    public static TrainingSetup Prepare(TrainSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        var definition = settings.Model.Definition;
        CheckpointMetadata? resumed = null;
        IImageModelConfig? resumedConfig = null;
        DatasetDefinition dataset;
        if (settings.Resume is { } resume)
        {
            Checks.ExistingFile(resume.Path, "--resume");
            resumed = CheckpointMetadata.Read(resume.Path);
            (definition, resumedConfig) = ModelOf(resumed, resume.Path);
            if (settings.Model.DefinitionGiven && settings.Model.Definition != definition)
                throw new InputError(
                    $"--model {settings.Model.Definition.Name}: {resume.Path} holds a {definition.Name} model; leave --model out to continue it, or start a new run without --resume.");
            if (resumed.Step >= settings.Steps)
                throw new InputError($"--steps {settings.Steps}: {resume.Path} is already at step {resumed.Step}; give a larger --steps to train further.");
            dataset = settings.Data.Dataset ?? Datasets.For(resumedConfig);
            DataChecks.DataFitsModel(dataset, resumedConfig, resume.Path);
        }
        else
        {
            dataset = DataSources.Resolve(settings.Data);
            // Images resized to a --size no run could train on are refused before they are read (a lower bound: grey).
            if (settings.Data.Size is { } size)
                MemoryCheck.BeforeReading(settings.Model.ConfigFor(dataset, settings.Data.Channels ?? 1, size.Height, size.Width),
                    settings.Options, settings.Device.Type, settings.CheckMemory);
        }

        string? folder = DataSources.FolderOf(settings.Data, dataset, terminal);   // downloads first with --download
        var train = DataChecks.NotEmpty(DataSources.Read(settings.Data, dataset, folder, train: true, terminal, resumedConfig), "training");
        var test = DataChecks.NotEmpty(DataSources.Read(settings.Data, dataset, folder, train: false, terminal, resumedConfig), "test");
        if (settings.TrainImages > 0 && settings.TrainImages < train.Count) train = train.Take(settings.TrainImages);

        TrainingSetup setup;
        if (resumed is not null && resumedConfig is not null)
        {
            string path = settings.Resume!.Path;
            DataChecks.ImagesFitModel(train, resumedConfig, path);
            if (resumed.TrainingImages != 0 && resumed.TrainingImages != train.Count)
                throw new InputError(
                    $"--train-images: {path} was trained on {resumed.TrainingImages} images and this run has {train.Count}; give the same --data and --train-images as the run it continues.");
            var options = TrainerOptions.FromMetadata(resumed);
            // Periodic evaluations draw nothing at random: they may change on resume; so may the products' precision.
            if (settings.Resume.EvaluateEvery is { } every) options = options with { EvaluateEvery = every };
            if (settings.Resume.EvaluationImages is { } images) options = options with { EvaluationImages = images };
            if (settings.Resume.Precision is { } precision) options = options with { Precision = precision };
            setup = new TrainingSetup(dataset, definition, resumedConfig, resumed.Orders(), options, train, test, resumed);
        }
        else
        {
            var config = settings.Model.ConfigFor(dataset, train.Channels, train.Height, train.Width);
            var orders = definition.TakesAnyOrder
                ? settings.Orders.Variants(train.Height, train.Width, terminal)
                : new[] { GenerationOrders.Raster(train.Height, train.Width) };
            setup = new TrainingSetup(dataset, definition, config, orders, settings.Options with { Encoding = dataset.Encoding }, train, test, null);
        }
        if (train.Count < setup.Options.BatchSize)
            throw new InputError($"--batch-size {setup.Options.BatchSize}: {train.Name} has only {train.Count} training images; use a smaller --batch-size or more --train-images.");
        return setup;
    }

    private static (ModelDefinition Definition, IImageModelConfig Config) ModelOf(CheckpointMetadata metadata, string path)
    {
        try
        {
            return (metadata.Definition(), metadata.ReadConfiguration());
        }
        catch (InvalidDataException e)
        {
            throw new InputError($"--resume {path}: {CliApp.OneLine(e)}", e);
        }
    }
}
