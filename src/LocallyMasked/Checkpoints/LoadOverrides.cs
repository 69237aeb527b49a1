using System.Globalization;
using LocallyMasked.Layers;
using LocallyMasked.Models;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The settings of <see cref="ModelLoadOptions"/> that win over what a file records or implies (normalization, dilation,
/// image size), applied the same way for every format, each change listed as a <see cref="ConfigurationNote"/>.
/// </summary>
internal static class LoadOverrides
{
    /// <summary>Checks the options that do not depend on the file.</summary>
    /// <param name="options">The caller's options.</param>
    public static void Check(ModelLoadOptions options)
    {
        if (options.MaxDilation is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDilation, "ModelLoadOptions.MaxDilation must be at least 1.");
        if (options.ImageSize is { } requested && (requested.Height < 1 || requested.Width < 1))
            throw new ArgumentOutOfRangeException(nameof(options), requested, "ModelLoadOptions.ImageSize must be at least 1x1.");
        if (options.Limits is null) throw new ArgumentNullException(nameof(options), "ModelLoadOptions.Limits is null.");
    }

    /// <summary>Refuses an image size beyond <see cref="CheckpointLimits.MaxImagePixels"/>, before anything of that size is built.</summary>
    /// <param name="height">The height the model would be built for.</param>
    /// <param name="width">The width the model would be built for.</param>
    /// <param name="options">The caller's options.</param>
    /// <param name="source">The file, for the message.</param>
    /// <exception cref="CheckpointException">The size is beyond the limit.</exception>
    public static void CheckImageSize(int height, int width, ModelLoadOptions options, string source)
    {
        long pixels = (long)height * width;
        if (pixels > options.Limits.MaxImagePixels)
            throw new CheckpointException(
                $"{source}: the model would be built for {height}x{width} images ({pixels} pixels), more than CheckpointLimits.MaxImagePixels ({options.Limits.MaxImagePixels}); raise it through ModelLoadOptions.Limits to load it.");
    }

    /// <summary>Refuses the settings a PixelCNN++ baseline does not have.</summary>
    /// <param name="options">The caller's options.</param>
    /// <param name="source">The file, for the message.</param>
    /// <exception cref="CheckpointException">A normalization or a dilation was given.</exception>
    public static void CheckBaseline(ModelLoadOptions options, string source)
    {
        if (options.Normalization is not null || options.MaxDilation is not null)
            throw new CheckpointException(
                $"{source} holds a PixelCNN++ baseline, which has no feature normalization or resampling dilation (it uses weight normalization and "
                + "strided shifted convolutions): leave the normalization and max-dilation settings unset.");
    }

    /// <summary>The image size after <see cref="ModelLoadOptions.ImageSize"/>, noted as an override when it replaces a recorded size.</summary>
    /// <param name="height">The file's (or template's) height.</param>
    /// <param name="width">The file's (or template's) width.</param>
    /// <param name="options">The caller's options.</param>
    /// <param name="notes">Where the override is noted.</param>
    /// <param name="recorded">Whether the file records the size (else the template supplied it, and no note is made).</param>
    public static (int Height, int Width) Resize(int height, int width, ModelLoadOptions options, List<ConfigurationNote> notes, bool recorded)
    {
        if (options.ImageSize is not { } size || (size.Height == height && size.Width == width)) return (height, width);
        if (recorded) notes.Add(new ConfigurationNote(nameof(ModelLoadOptions.ImageSize), $"{size.Height}x{size.Width}", $"{height}x{width}"));
        return (size.Height, size.Width);
    }

    /// <summary>Applies the caller's normalization and dilation and notes each one that changes what the file records or implies.</summary>
    /// <param name="config">The configuration from the file.</param>
    /// <param name="options">The caller's options.</param>
    /// <param name="notes">The notes so far: an assumption the caller's value replaces is removed.</param>
    /// <param name="source">The file, for messages.</param>
    public static PixelCnnConfig Apply(PixelCnnConfig config, ModelLoadOptions options, List<ConfigurationNote> notes, string source)
    {
        if (options.Normalization is { } normalization)
        {
            if (!Enum.IsDefined(normalization))
                throw new ArgumentOutOfRangeException(nameof(options), normalization, "Unknown ModelLoadOptions.Normalization.");
            if ((normalization == FeatureNormalization.WeightNorm) != (config.Normalization == FeatureNormalization.WeightNorm))
                throw new CheckpointException(
                    $"{source} stores {(config.Normalization == FeatureNormalization.WeightNorm ? "weight-normalized" : "plain")} convolution weights, so it cannot be used with the {normalization} normalization.");
            // The caller's value replaces an assumption; it is an override only where the file records another value.
            bool assumed = notes.RemoveAll(n => n.Setting == nameof(PixelCnnConfig.Normalization) && !n.IsOverride) > 0;
            if (!assumed && normalization != config.Normalization)
                notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.Normalization), normalization.ToString(), config.Normalization.ToString()));
            config = config with { Normalization = normalization };
        }
        if (options.MaxDilation is { } dilation)
        {
            bool assumed = notes.RemoveAll(n => n.Setting == nameof(PixelCnnConfig.MaxDilation) && !n.IsOverride) > 0;
            if (!assumed && dilation != config.MaxDilation)
                notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.MaxDilation), dilation.ToString(CultureInfo.InvariantCulture),
                    config.MaxDilation.ToString(CultureInfo.InvariantCulture)));
            config = config with { MaxDilation = dilation };
        }
        return config;
    }
}
