using LocallyMasked.Cli.Data;
using LocallyMasked.Models;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// The model <c>train</c> builds: <c>--model</c> (a <see cref="ModelCatalog"/> name) and its size, the same options for
/// either model (<c>--filters</c>, <c>--blocks</c>, <c>--mixtures</c>, <c>--dropout</c>), the dilation of a locally
/// masked model (<c>--max-dilation</c>) and the modelled bit depth (<c>--bits</c>).
/// </summary>
public sealed record NewModelSettings
{
    /// <summary>The model (its catalog entry).</summary>
    public ModelDefinition Definition { get; init; } = ModelCatalog.Get(ModelKind.LocallyMaskedPixelCnn);

    /// <summary>Whether --model was typed (with --resume it must name the checkpoint's model).</summary>
    public bool DefinitionGiven { get; init; }

    /// <summary>Feature channels per layer.</summary>
    public int Filters { get; init; } = TrainingDefaults.Filters;

    /// <summary>Residual blocks per stage.</summary>
    public int Blocks { get; init; } = TrainingDefaults.Blocks;

    /// <summary>Logistic mixture components (grey and RGB data).</summary>
    public int Mixtures { get; init; } = TrainingDefaults.Mixtures;

    /// <summary>Channel dropout in the residual blocks while training.</summary>
    public double Dropout { get; init; } = TrainingDefaults.Dropout;

    /// <summary>The dilation of the resampling convolutions (lmconv only); null: <see cref="PixelCnnConfig.MaxDilation"/>'s default.</summary>
    public int? MaxDilation { get; init; }

    /// <summary>The modelled bit depth, 1 to 8 (--bits); null: the data set's (<see cref="DatasetDefinition.Bits"/>).</summary>
    public int? Bits { get; init; }

    /// <summary>The configuration of the model for a data set and image size.</summary>
    /// <param name="dataset">The data set.</param>
    /// <param name="channels">Image channels.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <exception cref="InputError">--bits for binarized data, or a PixelCNN++ for images whose sides are not multiples of 4.</exception>
    public IImageModelConfig ConfigFor(DatasetDefinition dataset, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (Bits is not null && dataset.Bits is null)
            throw new InputError($"--bits: {dataset.Name} has two levels per pixel already; --bits applies to mnist, fashion-mnist, cifar10 and folders of images.");
        int bits = Bits ?? dataset.Bits ?? 8;
        var likelihood = dataset.LikelihoodFor(channels);
        if (Definition.ConfigurationType == typeof(PixelCnnConfig))
            return new PixelCnnConfig
            {
                ImageChannels = channels, Height = height, Width = width,
                Filters = Filters, ResidualBlocks = Blocks, MixtureComponents = Mixtures, Dropout = Dropout,
                MaxDilation = MaxDilation ?? new PixelCnnConfig().MaxDilation,
                Bits = bits, Likelihood = likelihood,
            };
        if (height % 4 != 0 || width % 4 != 0)
            throw new InputError(
                $"--model {Definition.Name}: the images are {height}x{width}; PixelCNN++ halves them twice and doubles them back, so their height and width "
                + "must be multiples of 4 (for a folder of images use --size, e.g. --size 28x28).");
        return new PixelCnnPlusPlusConfig
        {
            ImageChannels = channels, Height = height, Width = width,
            Filters = Filters, ResidualBlocks = Blocks, MixtureComponents = Mixtures, Dropout = Dropout,
            Bits = bits, Likelihood = likelihood,
        };
    }
}
