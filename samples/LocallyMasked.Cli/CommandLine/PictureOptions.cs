using System.CommandLine;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>
/// complete's options for the user's own pictures: <c>--image</c> (repeatable) and <c>--mask</c>, with the rules that
/// tie them to the other options.
/// </summary>
public sealed class PictureOptions
{
    /// <summary>--image PATH, once per picture.</summary>
    public Option<string[]> Image { get; } = new("--image")
    {
        Description = "Complete this picture (PNG, JPEG or BMP; repeat for more) instead of test images: cropped to the model's aspect ratio "
            + "and resized to its size when it has another; a grey picture is given to an RGB model as equal R, G and B, a colour "
            + "picture is refused by a grey model. Writes NAME-completed.png per picture and a sheet.",
    };

    /// <summary>--mask PATH: an image whose white pixels are missing.</summary>
    public Option<string?> Mask { get; } = new("--mask")
    {
        Description = "The pixels to complete, as an image of the picture's size (or the model's, for test images): white (levels 224-255) "
            + "missing, black (0-31) observed, any shape; other levels are refused. Instead of --region.",
    };

    /// <summary>Adds the options to a command.</summary>
    /// <param name="command">The command.</param>
    public void AddTo(Command command) => SharedOptions.Add(command, Image, Mask);

    /// <summary>The --image paths (none: test images).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="dataOptions">The options that choose test images of a data set, refused with --image.</param>
    /// <exception cref="InputError">--image with an option that chooses test images.</exception>
    public IReadOnlyList<string> ImagesOf(ParseResult result, IEnumerable<Option> dataOptions)
    {
        ArgumentNullException.ThrowIfNull(result);
        var images = result.GetValue(Image) ?? Array.Empty<string>();
        if (images.Length > 0)
            result.Refuse(dataOptions, "with --image: they choose test images of a data set, and --image completes the pictures named "
                + "(--dataset only says what a weight file models)");
        return images;
    }

    /// <summary>The --mask path, or null.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="region">--region, refused with --mask when typed.</param>
    /// <exception cref="InputError">--mask with a typed --region.</exception>
    public string? MaskOf(ParseResult result, Option region)
    {
        ArgumentNullException.ThrowIfNull(result);
        var mask = result.GetValue(Mask);
        if (mask is not null && result.Given(region))
            throw new InputError("--mask with --region: both say which pixels to complete; give one of the two.");
        return mask;
    }
}
