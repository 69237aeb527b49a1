using System.Globalization;
using LocallyMasked.Orders;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// A region named with <c>--region</c>: top, bottom, left, right, centre (or center), or box:TOP,LEFT,HEIGHT,WIDTH.
/// Its spelling is checked when made; whether it fits the images is checked for the model's size (<see cref="For"/>).
/// </summary>
public sealed record RegionChoice
{
    /// <summary>What --region accepts, for messages.</summary>
    public const string Accepted = "top, bottom, left, right, centre or box:TOP,LEFT,HEIGHT,WIDTH (TOP, LEFT >= 0; HEIGHT, WIDTH >= 1)";

    /// <summary>Makes a region choice.</summary>
    /// <param name="spec">A --region value.</param>
    /// <exception cref="ArgumentException"><paramref name="spec"/> is not a region name or a well-formed box.</exception>
    public RegionChoice(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!IsWellFormed(spec)) throw new ArgumentException($"Unknown region '{spec}'; expected {Accepted}.", nameof(spec));
        Spec = spec;
    }

    /// <summary>The value as typed.</summary>
    public string Spec { get; }

    /// <summary>The value as a part of a file name (box:1,2,3,4 becomes box-1-2-3-4).</summary>
    public string FileNamePart => Spec.Replace(':', '-').Replace(',', '-');

    /// <summary>Whether <paramref name="spec"/> is a region name or a well-formed box (whatever the image size).</summary>
    /// <param name="spec">A --region value.</param>
    public static bool IsWellFormed(string? spec) =>
        spec is "top" or "bottom" or "left" or "right" or "centre" or "center" || Box(spec) is { Length: 4 } box && box[2] >= 1 && box[3] >= 1;

    /// <summary>The region for images of the model's size.</summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <exception cref="InputError">The box does not fit the images (named as --region).</exception>
    public ImageRegion For(int height, int width)
    {
        // Checked here in long arithmetic: a box whose sides overflow an int must not wrap round to an empty region.
        if (Box(Spec) is [var boxTop, var boxLeft, var boxHeight, var boxWidth] && ((long)boxTop + boxHeight > height || (long)boxLeft + boxWidth > width))
            throw new InputError(
                $"--region {Spec}: does not fit the model's {height}x{width} images (the box ends at row {(long)boxTop + boxHeight} and column {(long)boxLeft + boxWidth}); " +
                "give TOP + HEIGHT and LEFT + WIDTH within the image.");
        try
        {
            return Spec switch
            {
                "top" => ImageRegion.TopHalf(height, width),
                "bottom" => ImageRegion.BottomHalf(height, width),
                "left" => ImageRegion.LeftHalf(height, width),
                "right" => ImageRegion.RightHalf(height, width),
                "centre" or "center" => ImageRegion.Centre(height, width),
                _ => Box(Spec) is [var top, var left, var h, var w] ? ImageRegion.Box(height, width, top, left, h, w) : throw new InvalidOperationException(Spec),
            };
        }
        catch (ArgumentException e)
        {
            throw new InputError($"--region {Spec}: does not fit the model's {height}x{width} images ({FirstSentence(e)}).", e);
        }
    }

    private static int[]? Box(string? spec)
    {
        if (spec is null || !spec.StartsWith("box:", StringComparison.Ordinal)) return null;
        var parts = spec[4..].Split(',');
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i])) return null;
        return values;
    }

    private static string FirstSentence(ArgumentException e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return (cut >= 0 ? message[..cut] : message).TrimEnd('.');
    }
}
