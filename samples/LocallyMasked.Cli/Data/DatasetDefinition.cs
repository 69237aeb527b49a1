using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// A data set the program reads (<c>--dataset NAME</c>): how its files are read, the likelihood head and the input
/// encoding of a model of it, its bit depth, its images' channels and usual size, and where it is downloaded from.
/// <see cref="Datasets"/> lists them; every command asks that table rather than deciding by name.
/// </summary>
public sealed record DatasetDefinition
{
    /// <summary>The --dataset name.</summary>
    public required string Name { get; init; }

    /// <summary>What the data is, for messages ("MNIST digits, binarized").</summary>
    public required string Description { get; init; }

    /// <summary>The likelihood head of a model of this data; null for a folder of images, whose channel count decides
    /// (<see cref="LikelihoodFor"/>).</summary>
    public LikelihoodKind? Likelihood { get; init; }

    /// <summary>How its bytes become model inputs (binarized data: one random binarization per image and step).</summary>
    public required InputEncoding Encoding { get; init; }

    /// <summary>The bit depth a new model of it models by default; null where <c>--bits</c> does not apply (binarized
    /// data has two levels per pixel).</summary>
    public int? Bits { get; init; }

    /// <summary>The channels of its images (1 grey, 3 RGB); null for a folder of images, whose files decide.</summary>
    public int? Channels { get; init; }

    /// <summary>
    /// The published model of this data (image size, channels, likelihood): what a weight file that records none of
    /// these is assumed to be.
    /// </summary>
    public required PixelCnnConfig Template { get; init; }

    /// <summary>Where <c>download</c> and <c>--download</c> fetch it; null when it cannot be downloaded.</summary>
    public DatasetDescription? Download { get; init; }

    /// <summary>
    /// Reads a split of its files: from the --data folder, or without one (null) the embedded digits where the data set
    /// is MNIST; otherwise it raises an <see cref="ArgumentException"/> saying how to get the files. Null for a folder of
    /// images, which <see cref="DataSources"/> decodes with the image-folder options.
    /// </summary>
    public Func<string?, bool, ImageDataset>? ReadFiles { get; init; }

    /// <summary>Whether the data is a folder of images (PNG, JPEG, BMP) rather than a data set's own files.</summary>
    public bool IsImageFolder => ReadFiles is null;

    /// <summary>Whether its figures are reported in bits per dimension as well as nats (8-bit data; not binarized data,
    /// whose likelihoods are in nats per image, as the paper reports them).</summary>
    public bool ReportsBitsPerDimension => Encoding != InputEncoding.DynamicBinarization;

    /// <summary>The likelihood head of a model of images with <paramref name="channels"/> channels of this data.</summary>
    /// <param name="channels">1 or 3.</param>
    public LikelihoodKind LikelihoodFor(int channels) =>
        Likelihood ?? (channels == 1 ? LikelihoodKind.GreyLogisticMixture : LikelihoodKind.RgbLogisticMixture);

    /// <summary>Whether a model with <paramref name="likelihood"/> over images of <paramref name="channels"/> channels models this data.</summary>
    /// <param name="likelihood">The model's likelihood head.</param>
    /// <param name="channels">The model's image channels.</param>
    public bool Fits(LikelihoodKind likelihood, int channels) => LikelihoodFor(channels) == likelihood;
}
