using System.Text.Json;
using LocallyMasked.Likelihoods;

namespace LocallyMasked.Models;

/// <summary>
/// Configuration of a <see cref="PixelCnnPlusPlus"/>, the PixelCNN++ baseline. The defaults are the CIFAR10 model the
/// paper compares against (3x32x32, 160 filters, 5 blocks per stage, 10 mixture components, 8 bits, dropout 0.5:
/// the authors' baseline.py hard-codes 0.5 in every gated block). Use <c>with</c> expressions to derive variants and
/// <see cref="Validate"/> (also called by the model) to check a value.
/// </summary>
public sealed record PixelCnnPlusPlusConfig : IImageModelConfig
{
    /// <summary>Image channels: 3 for RGB, 1 for grey or binary images.</summary>
    public int ImageChannels { get; init; } = 3;

    /// <summary>Image height in pixels: a multiple of 4 (two stride-2 downsamplings, then two 2x upsamplings).</summary>
    public int Height { get; init; } = 32;

    /// <summary>Image width in pixels: a multiple of 4.</summary>
    public int Width { get; init; } = 32;

    /// <summary>Feature channels of both streams in every layer (F; the authors' nr_filters).</summary>
    public int Filters { get; init; } = 160;

    /// <summary>Gated residual blocks per stream in each up-pass stage (R; the authors' nr_resnet); the down pass has R, R + 1, R + 1.</summary>
    public int ResidualBlocks { get; init; } = 5;

    /// <summary>Logistic mixture components (ignored by <see cref="LikelihoodKind.Binary"/>; the authors' nr_logistic_mix).</summary>
    public int MixtureComponents { get; init; } = 10;

    /// <summary>The per-pixel output distribution.</summary>
    public LikelihoodKind Likelihood { get; init; } = LikelihoodKind.RgbLogisticMixture;

    /// <summary>Bit depth of the pixel values for the logistic heads (2^bits levels on [-1, 1]), 1 to 16; ignored by <see cref="LikelihoodKind.Binary"/>.</summary>
    public int Bits { get; init; } = 8;

    /// <summary>
    /// Channel dropout probability inside every gated block during training, in [0, 1); 0.5 in the authors' baseline.
    /// <c>lmconv train --model pixelcnn++</c> defaults to 0, as for its locally masked model: its small default models
    /// (16 filters) underfit rather than overfit, and one default for both keeps their comparison like for like.
    /// </summary>
    public double Dropout { get; init; } = 0.5;

    /// <summary>Channels of the network input: the image plus one channel of ones (which lets the first layers tell padding from image).</summary>
    public int InputChannels => ImageChannels + 1;

    /// <summary>Number of distribution parameters per pixel (M): 10 x mixtures (RGB), 3 x mixtures (grey) or 2 (binary).</summary>
    public int ParameterChannels => PixelLikelihood.ParameterChannelsOf(Likelihood, MixtureComponents);

    /// <summary>Pixels per image (H * W).</summary>
    public int PixelCount => Height * Width;

    /// <summary>Dimensions per image (C * H * W), the denominator of bits per dimension.</summary>
    public int Dimensions => ImageChannels * Height * Width;

    /// <summary>The CIFAR10 PixelCNN++ the paper compares against (the defaults; 2.92 bits per dimension reported).</summary>
    public static PixelCnnPlusPlusConfig Cifar10 => new();

    /// <summary>Grey-scale MNIST (1x28x28, one-channel logistic mixture, 10 components), otherwise the authors' defaults.</summary>
    public static PixelCnnPlusPlusConfig GreyMnist => new()
    {
        ImageChannels = 1,
        Height = 28,
        Width = 28,
        Likelihood = LikelihoodKind.GreyLogisticMixture,
    };

    /// <summary>
    /// Binarized MNIST (1x28x28, two logits per pixel). The authors' baseline.py has no binary head (their binarized
    /// runs use the locally masked model); this one is ours, with the head of <see cref="LocallyMaskedPixelCnn"/>.
    /// </summary>
    public static PixelCnnPlusPlusConfig BinarizedMnist => new()
    {
        ImageChannels = 1,
        Height = 28,
        Width = 28,
        Likelihood = LikelihoodKind.Binary,
    };

    /// <summary>The configuration as JSON, the form in which training checkpoints record it.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a configuration written by <see cref="ToJson"/> and validates it.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="InvalidDataException">The text is not a valid configuration; the message says why.</exception>
    public static PixelCnnPlusPlusConfig FromJson(string json) => ConfigurationJson.Read<PixelCnnPlusPlusConfig>(json);

    /// <summary>Checks every field and their combination.</summary>
    /// <exception cref="ArgumentException">A field is out of range or the combination is inconsistent; the message names it.</exception>
    public void Validate()
    {
        if (ImageChannels is not (1 or 3))
            throw new ArgumentException($"ImageChannels must be 1 or 3, got {ImageChannels}.", nameof(ImageChannels));
        if (Height < 4 || Height % 4 != 0)
            throw new ArgumentException(
                $"Height must be a positive multiple of 4 (the network halves the image twice and doubles it back), got {Height}.", nameof(Height));
        if (Width < 4 || Width % 4 != 0)
            throw new ArgumentException(
                $"Width must be a positive multiple of 4 (the network halves the image twice and doubles it back), got {Width}.", nameof(Width));
        if ((long)ImageChannels * Height * Width > int.MaxValue)
            throw new ArgumentException(
                $"A {ImageChannels}x{Height}x{Width} image has {(long)ImageChannels * Height * Width} values; at most {int.MaxValue} are possible.", nameof(Height));
        if (Filters < 1)
            throw new ArgumentException($"Filters must be at least 1, got {Filters}.", nameof(Filters));
        if (ResidualBlocks < 1)
            throw new ArgumentException($"ResidualBlocks must be at least 1, got {ResidualBlocks}.", nameof(ResidualBlocks));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentException($"Dropout must be in [0, 1), got {Dropout}.", nameof(Dropout));
        if (!Enum.IsDefined(Likelihood))
            throw new ArgumentException($"Unknown likelihood {Likelihood}.", nameof(Likelihood));
        if (Likelihood == LikelihoodKind.RgbLogisticMixture && ImageChannels != 3)
            throw new ArgumentException($"The RGB logistic mixture needs ImageChannels = 3, got {ImageChannels}.", nameof(ImageChannels));
        if (Likelihood is LikelihoodKind.GreyLogisticMixture or LikelihoodKind.Binary && ImageChannels != 1)
            throw new ArgumentException($"The {Likelihood} likelihood needs ImageChannels = 1, got {ImageChannels}.", nameof(ImageChannels));
        if (Likelihood != LikelihoodKind.Binary && MixtureComponents < 1)
            throw new ArgumentException($"MixtureComponents must be at least 1, got {MixtureComponents}.", nameof(MixtureComponents));
        if (Likelihood != LikelihoodKind.Binary && Bits is < 1 or > 16)
            throw new ArgumentException($"Bits must be in 1..16, got {Bits}.", nameof(Bits));
    }
}
