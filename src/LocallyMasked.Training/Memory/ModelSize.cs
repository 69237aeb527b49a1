using LocallyMasked.Layers;
using LocallyMasked.Models;

namespace LocallyMasked.Training.Memory;

/// <summary>
/// What a model configuration amounts to before anything is built: its parameter count (exactly what the model's
/// <c>parameters()</c> hold) and its feature maps (the channel-pixels of one image that its residual blocks produce),
/// from the configuration alone, in checked arithmetic, so that a configuration of any size is measured without
/// allocating it.
/// </summary>
public static class ModelSize
{
    /// <summary>The number of parameters of the model <paramref name="config"/> describes.</summary>
    /// <param name="config">A <see cref="PixelCnnConfig"/> or a <see cref="PixelCnnPlusPlusConfig"/>.</param>
    /// <exception cref="ArgumentException">Another configuration type.</exception>
    /// <exception cref="OverflowException">More parameters than a long counts.</exception>
    public static long ParameterCount(IImageModelConfig config) => config switch
    {
        null => throw new ArgumentNullException(nameof(config)),
        PixelCnnConfig c => LocallyMasked(c),
        PixelCnnPlusPlusConfig c => Baseline(c),
        _ => throw new ArgumentException($"Expected a {nameof(PixelCnnConfig)} or a {nameof(PixelCnnPlusPlusConfig)}, got {config.GetType().Name}.", nameof(config)),
    };

    /// <summary>
    /// The residual blocks of the model weighted by the share of the image's pixels they run at: the locally masked
    /// PixelCNN runs its 6R + 2 blocks at full resolution (dilated convolutions instead of downsampling); PixelCNN++ runs
    /// two streams whose stages halve the resolution twice. Times filters and pixels, it counts the channel-pixels of the
    /// blocks' outputs for one image.
    /// </summary>
    /// <param name="config">A <see cref="PixelCnnConfig"/> or a <see cref="PixelCnnPlusPlusConfig"/>.</param>
    public static double FullResolutionBlocks(IImageModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        double r = config.ResidualBlocks;
        return config switch
        {
            PixelCnnConfig => 6 * r + 2,
            // Up: R blocks at 1, 1/4, 1/16 of the pixels; down: R at 1/16, R + 1 at 1/4 and at 1; each in two streams.
            PixelCnnPlusPlusConfig => 2 * (r * (1 + 0.25 + 0.0625) + r * 0.0625 + (r + 1) * (0.25 + 1)),
            _ => throw new ArgumentException($"Expected a {nameof(PixelCnnConfig)} or a {nameof(PixelCnnPlusPlusConfig)}, got {config.GetType().Name}.", nameof(config)),
        };
    }

    private static long LocallyMasked(PixelCnnConfig c)
    {
        checked
        {
            long f = c.Filters, r = c.ResidualBlocks, k2 = (long)c.KernelSize * c.KernelSize;
            bool weightNorm = c.Normalization == FeatureNormalization.WeightNorm;
            long Conv(long inChannels, long outChannels) =>
                outChannels * inChannels * k2 + (c.ConvolutionBias ? outChannels : 0) + (weightNorm ? outChannels : 0)
                + (c.LearnWeightForMasks ? outChannels * k2 : 0);
            long Block(bool skip) => Conv(2 * f, f) + Conv(2 * f, 2 * f) + (skip ? Linear(2 * f, f) : 0);
            // u_init; up: 3 stages of R blocks; down: R, R + 1 and R + 1 blocks with skip inputs; 2 downsize and 2 upsize
            // convolutions; nin_out.
            return Conv(c.InputChannels, f) + 3 * r * Block(false) + (3 * r + 2) * Block(true) + 4 * Conv(f, f) + Linear(f, c.ParameterChannels);
        }
    }

    private static long Baseline(PixelCnnPlusPlusConfig c)
    {
        checked
        {
            long f = c.Filters, r = c.ResidualBlocks, input = c.InputChannels;
            // Weight-normalized convolutions: direction, magnitude (one per output channel) and bias.
            long Conv(long inChannels, long outChannels, long kernelHeight, long kernelWidth) =>
                outChannels * inChannels * kernelHeight * kernelWidth + 2 * outChannels;
            // The stream above uses 2x3 kernels, the stream above and to the left 2x2.
            long Block(bool aboveAndLeft, long skipChannels)
            {
                long kw = aboveAndLeft ? 2 : 3;
                return Conv(2 * f, f, 2, kw) + Conv(2 * f, 2 * f, 2, kw) + (skipChannels > 0 ? Linear(2 * skipChannels, f) : 0);
            }
            long up = r * (Block(false, 0) + Block(true, f));
            long Down(long blocks) => blocks * (Block(false, f) + Block(true, 2 * f));
            long resampling = 2 * (Conv(f, f, 2, 3) + Conv(f, f, 2, 2)) * 2;   // strided and transposed, in both streams
            long initial = Conv(input, f, 2, 3) + Conv(input, f, 1, 3) + Conv(input, f, 2, 1);
            return 3 * up + Down(r) + 2 * Down(r + 1) + resampling + initial + Linear(f, c.ParameterChannels);
        }
    }

    /// <summary>A weight-normalized 1x1 layer: direction, magnitude and bias.</summary>
    private static long Linear(long inFeatures, long outFeatures) => checked(outFeatures * inFeatures + 2 * outFeatures);
}
