using System.CommandLine;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli;

/// <summary>Checks that commands make before any work starts; each failure is an <see cref="InputError"/> naming the option.</summary>
public static class Checks
{
    /// <summary>
    /// Checks that the folder <paramref name="path"/> exists or can be created, and that files can be written in it
    /// (a probe file is created in the nearest existing folder and deleted at once). Nothing is created.
    /// </summary>
    /// <param name="path">The folder.</param>
    /// <param name="option">The option that named it.</param>
    public static void WritableFolder(string path, string option)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InputError($"{option} {path}: not a valid path ({e.Message}).", e);
        }
        if (File.Exists(full)) throw new InputError($"{option} {path}: is a file, not a folder; name a folder.");
        string? existing = full;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new InputError($"{option} {path}: cannot create the folder because {existing} is a file; name another folder.");
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) throw new InputError($"{option} {path}: no part of the path exists; name a folder on a mounted disk.");
        string probe = Path.Combine(existing, $".lmconv-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputError($"{option} {path}: cannot write in {existing} ({e.Message}); name a writable folder.", e);
        }
    }

    /// <summary>Checks that the folder of the file <paramref name="path"/> is writable (see <see cref="WritableFolder"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option that named it.</param>
    public static void WritableFile(string path, string option)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new InputError($"{option} {path}: is a folder; name a file.");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? throw new InputError($"{option} {path}: has no folder.");
        WritableFolder(folder, option);
    }

    /// <summary>Checks that a file exists (before anything reads it).</summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option that named it.</param>
    public static void ExistingFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new InputError($"{option} {path}: is a folder; name a checkpoint file.");
        if (!File.Exists(path)) throw new InputError($"{option} {path}: file not found.");
    }

    /// <summary>Refuses options that the user typed and the run cannot use, naming them and why.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="options">The options that cannot be used.</param>
    /// <param name="why">Why, completing "cannot be used ..." ("with --resume: the checkpoint's settings are used").</param>
    public static void NotGiven(ParseResult result, IEnumerable<Option> options, string why)
    {
        ArgumentNullException.ThrowIfNull(result);
        var given = options.Where(o => CommonOptions.Given(result, o)).Select(o => o.Name).ToList();
        if (given.Count > 0)
            throw new InputError($"{string.Join(", ", given)}: cannot be used {why}.");
    }

    /// <summary>The likelihood a data set needs, or null when any will do.</summary>
    /// <param name="kind">The data set.</param>
    public static LikelihoodKind? LikelihoodFor(DatasetKind kind) => kind switch
    {
        DatasetKind.BinarizedMnist => LikelihoodKind.Binary,
        DatasetKind.Mnist => LikelihoodKind.GreyLogisticMixture,
        DatasetKind.Cifar10 => LikelihoodKind.RgbLogisticMixture,
        _ => null,
    };

    /// <summary>Checks that a model's likelihood fits the data set it is used with.</summary>
    /// <param name="kind">The data set.</param>
    /// <param name="config">The model's configuration.</param>
    /// <param name="checkpoint">The model's file.</param>
    public static void DataFitsModel(DatasetKind kind, IImageModelConfig config, string checkpoint)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (LikelihoodFor(kind) is { } needed && needed != config.Likelihood)
        {
            string fitting = DataSources.Names.FirstOrDefault(n => LikelihoodFor(DataSources.Parse(n)) == config.Likelihood) ?? "another data set";
            throw new InputError(
                $"--dataset {DataSources.Names.FirstOrDefault(n => DataSources.Parse(n) == kind) ?? kind.ToString()}: the model in {checkpoint} has a " +
                $"{config.Likelihood} likelihood, which models {fitting} data; use --dataset {fitting} or leave --dataset out.");
        }
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

    /// <summary>Checks that a region fits the model's images.</summary>
    /// <param name="spec">The --region value (its syntax was checked by the parser).</param>
    /// <param name="config">The model's configuration.</param>
    public static ImageRegion Region(string spec, IImageModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            return RegionNames.Parse(spec, config.Height, config.Width);
        }
        catch (ArgumentException e)
        {
            throw new InputError($"--region {spec}: does not fit the model's {config.Height}x{config.Width} images ({FirstSentence(e)}).", e);
        }
    }

    private static string FirstSentence(ArgumentException e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return (cut >= 0 ? message[..cut] : message).TrimEnd('.');
    }
}
