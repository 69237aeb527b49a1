using System.Text.Json;
using System.Text.Json.Nodes;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;

namespace LocallyMasked.Models;

/// <summary>
/// Configuration of a <see cref="LocallyMaskedPixelCnn"/>. The defaults are the paper's CIFAR10 model
/// (3x32x32, 160 filters, 5 blocks per stage, kernel 3, dilation 2, 10 mixture components, PONO, dropout 0,
/// 8 bits, conv bias, no learned mask weight). Use <c>with</c> expressions to derive variants and
/// <see cref="Validate"/> (also called by the model) to check a value. <c>lmconv train</c> keeps the kernel, dilation,
/// normalization and dropout defaults but builds a far smaller model by default (<c>--filters 16 --blocks 1
/// --mixtures 5</c>), so that its main job trains in minutes on a CPU.
/// </summary>
public sealed record PixelCnnConfig : IImageModelConfig
{
    /// <summary>Image channels: 3 for RGB, 1 for grey or binary images.</summary>
    public int ImageChannels { get; init; } = 3;

    /// <summary>Image height in pixels (the masks are built for this size).</summary>
    public int Height { get; init; } = 32;

    /// <summary>Image width in pixels.</summary>
    public int Width { get; init; } = 32;

    /// <summary>Feature channels of every layer (F).</summary>
    public int Filters { get; init; } = 160;

    /// <summary>Gated residual blocks per up-pass stage (R); the down pass has R, R + 1, R + 1.</summary>
    public int ResidualBlocks { get; init; } = 5;

    /// <summary>Side of every masked convolution kernel (odd).</summary>
    public int KernelSize { get; init; } = 3;

    /// <summary>Dilation of the four resampling-replacing convolutions (downsize/upsize streams).</summary>
    public int MaxDilation { get; init; } = 2;

    /// <summary>Channel dropout probability inside the residual blocks during training, in [0, 1).</summary>
    public double Dropout { get; init; }

    /// <summary>Feature normalization scheme.</summary>
    public FeatureNormalization Normalization { get; init; } = FeatureNormalization.Pono;

    /// <summary>The per-pixel output distribution.</summary>
    public LikelihoodKind Likelihood { get; init; } = LikelihoodKind.RgbLogisticMixture;

    /// <summary>Logistic mixture components (ignored by <see cref="LikelihoodKind.Binary"/>).</summary>
    public int MixtureComponents { get; init; } = 10;

    /// <summary>Bit depth of the pixel values for the logistic heads (2^bits levels on [-1, 1]), 1 to 16.</summary>
    public int Bits { get; init; } = 8;

    /// <summary>Whether the masked convolutions have a bias (the published models do).</summary>
    public bool ConvolutionBias { get; init; } = true;

    /// <summary>
    /// Whether every masked convolution learns a mask weight (<c>mask_weight</c>, the reference code's
    /// <c>--learn_weight_for_masks</c>): its term <c>sum_t mask_weight[o, t] * mask[t, p]</c> is added to the output.
    /// </summary>
    public bool LearnWeightForMasks { get; init; }

    /// <summary>Channels of the network input: the image plus one channel of ones.</summary>
    public int InputChannels => ImageChannels + 1;

    /// <summary>Number of distribution parameters per pixel (M): 10 x mixtures (RGB), 3 x mixtures (grey) or 2 (binary).</summary>
    public int ParameterChannels => PixelLikelihood.ParameterChannelsOf(Likelihood, MixtureComponents);

    /// <summary>Pixels per image (H * W).</summary>
    public int PixelCount => Height * Width;

    /// <summary>Dimensions per image (C * H * W), the denominator of bits per dimension.</summary>
    public int Dimensions => ImageChannels * Height * Width;

    /// <summary>The paper's CIFAR10 model (the defaults).</summary>
    public static PixelCnnConfig Cifar10 => new();

    /// <summary>
    /// The published binarized-MNIST model: 1x28x28 binary images, otherwise the reference code's defaults
    /// (160 filters, 5 blocks; the authors' command line overrides neither).
    /// </summary>
    public static PixelCnnConfig BinarizedMnist => new()
    {
        ImageChannels = 1,
        Height = 28,
        Width = 28,
        Likelihood = LikelihoodKind.Binary,
    };

    /// <summary>The published grey-scale MNIST (Hilbert order) model: 1x28x28, one-channel logistic mixture, 10 components.</summary>
    public static PixelCnnConfig GreyMnist => new()
    {
        ImageChannels = 1,
        Height = 28,
        Width = 28,
        Likelihood = LikelihoodKind.GreyLogisticMixture,
    };

    /// <summary>
    /// The CelebA-HQ 64x64 5-bit model with 320 filters. The block count is the reference default (5);
    /// <c>PixelCnnCheckpoint.LoadModel</c> reads the real value from a checkpoint.
    /// </summary>
    public static PixelCnnConfig CelebAHq64 => new()
    {
        Height = 64,
        Width = 64,
        Filters = 320,
        Bits = 5,
    };

    /// <summary>The configuration as JSON, the form in which training checkpoints record it.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a configuration written by <see cref="ToJson"/> and validates it.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="InvalidDataException">The text is not a valid configuration; the message says why.</exception>
    public static PixelCnnConfig FromJson(string json) => ConfigurationJson.Read<PixelCnnConfig>(json, node =>
    {
        // Version 0.1 named a multiplicative mask weight "LearnMaskWeight"; the reference code's weight is additive, so
        // such a model computes something else under the same weights and cannot be loaded.
        if (node is JsonObject o && o["LearnMaskWeight"] is JsonValue old && old.TryGetValue(out bool multiplicative) && multiplicative)
            throw new InvalidDataException(
                "The model was trained by LocallyMasked 0.1 with a multiplicative mask weight (LearnMaskWeight); this version implements the " +
                "reference code's additive mask weight (LearnWeightForMasks), so the weights do not carry over: retrain the model.");
    });

    /// <summary>Checks every field and their combination.</summary>
    /// <exception cref="ArgumentException">A field is out of range or the combination is inconsistent; the message names it.</exception>
    public void Validate()
    {
        if (ImageChannels is not (1 or 3))
            throw new ArgumentException($"ImageChannels must be 1 or 3, got {ImageChannels}.", nameof(ImageChannels));
        if (Height < 1 || Width < 1)
            throw new ArgumentException($"Height and Width must be at least 1, got {Height}x{Width}.", Height < 1 ? nameof(Height) : nameof(Width));
        if ((long)ImageChannels * Height * Width > int.MaxValue)
            throw new ArgumentException(
                $"A {ImageChannels}x{Height}x{Width} image has {(long)ImageChannels * Height * Width} values; at most {int.MaxValue} are possible.", nameof(Height));
        if (Filters < 2)
            throw new ArgumentException($"Filters must be at least 2 (positional normalization needs two channels), got {Filters}.", nameof(Filters));
        if (ResidualBlocks < 1)
            throw new ArgumentException($"ResidualBlocks must be at least 1, got {ResidualBlocks}.", nameof(ResidualBlocks));
        if (KernelSize < 1 || KernelSize % 2 == 0)
            throw new ArgumentException($"KernelSize must be odd and at least 1, got {KernelSize}.", nameof(KernelSize));
        if (MaxDilation < 1)
            throw new ArgumentException($"MaxDilation must be at least 1, got {MaxDilation}.", nameof(MaxDilation));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentException($"Dropout must be in [0, 1), got {Dropout}.", nameof(Dropout));
        if (!Enum.IsDefined(Normalization))
            throw new ArgumentException($"Unknown normalization {Normalization}.", nameof(Normalization));
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
