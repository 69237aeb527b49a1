using LocallyMasked.Likelihoods;

namespace LocallyMasked.Models;

/// <summary>
/// What the configurations of both models share (<see cref="PixelCnnConfig"/> and <see cref="PixelCnnPlusPlusConfig"/>):
/// the images they model, the likelihood head and the network's size. Code that works with either model
/// (<see cref="IAutoregressiveImageModel"/>) reads these.
/// </summary>
public interface IImageModelConfig
{
    /// <summary>Image channels: 3 for RGB, 1 for grey or binary images.</summary>
    int ImageChannels { get; }

    /// <summary>Image height in pixels.</summary>
    int Height { get; }

    /// <summary>Image width in pixels.</summary>
    int Width { get; }

    /// <summary>Feature channels of the network's layers.</summary>
    int Filters { get; }

    /// <summary>Gated residual blocks per up-pass stage.</summary>
    int ResidualBlocks { get; }

    /// <summary>Logistic mixture components (ignored by <see cref="LikelihoodKind.Binary"/>).</summary>
    int MixtureComponents { get; }

    /// <summary>The per-pixel output distribution.</summary>
    LikelihoodKind Likelihood { get; }

    /// <summary>Bit depth of the pixel values for the logistic heads.</summary>
    int Bits { get; }

    /// <summary>Channel dropout probability inside the residual blocks during training.</summary>
    double Dropout { get; }

    /// <summary>Number of distribution parameters per pixel.</summary>
    int ParameterChannels { get; }

    /// <summary>Pixels per image (H * W).</summary>
    int PixelCount { get; }

    /// <summary>Dimensions per image (C * H * W), the denominator of bits per dimension.</summary>
    int Dimensions { get; }

    /// <summary>The configuration as JSON, the form in which training checkpoints record it.</summary>
    string ToJson();

    /// <summary>Checks every field and their combination.</summary>
    /// <exception cref="ArgumentException">A field is out of range or the combination is inconsistent.</exception>
    void Validate();
}
