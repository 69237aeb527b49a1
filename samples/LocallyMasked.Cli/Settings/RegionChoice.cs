using LocallyMasked.Orders;

namespace LocallyMasked.Cli;

/// <summary>Parses --region values: top, bottom, left, right, centre, or box:TOP,LEFT,HEIGHT,WIDTH.</summary>
public static class RegionNames
{
    /// <summary>What --region accepts, for messages.</summary>
    public const string Accepted = "top, bottom, left, right, centre or box:TOP,LEFT,HEIGHT,WIDTH (TOP, LEFT >= 0; HEIGHT, WIDTH >= 1)";

    /// <summary>Whether <paramref name="spec"/> is a region name or a well-formed box (whatever the image size).</summary>
    /// <param name="spec">A --region value.</param>
    public static bool IsWellFormed(string? spec)
    {
        if (spec is "top" or "bottom" or "left" or "right" or "centre" or "center") return true;
        if (spec is null || !spec.StartsWith("box:", StringComparison.Ordinal)) return false;
        var parts = spec[4..].Split(',');
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out values[i])) return false;
        return values.Length == 4 && values[2] >= 1 && values[3] >= 1;
    }

    /// <summary>The region named by <paramref name="spec"/> for an image of the given size.</summary>
    /// <param name="spec">top, bottom, left, right, centre (or center), or box:TOP,LEFT,HEIGHT,WIDTH.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public static ImageRegion Parse(string spec, int height, int width)
    {
        ArgumentException.ThrowIfNullOrEmpty(spec);
        switch (spec)
        {
            case "top": return ImageRegion.TopHalf(height, width);
            case "bottom": return ImageRegion.BottomHalf(height, width);
            case "left": return ImageRegion.LeftHalf(height, width);
            case "right": return ImageRegion.RightHalf(height, width);
            case "centre" or "center": return ImageRegion.Centre(height, width);
        }
        if (spec.StartsWith("box:", StringComparison.Ordinal))
        {
            var parts = spec[4..].Split(',');
            if (parts.Length == 4 && parts.All(p => int.TryParse(p, out _)))
            {
                var v = parts.Select(int.Parse).ToArray();
                return ImageRegion.Box(height, width, v[0], v[1], v[2], v[3]);
            }
        }
        throw new ArgumentException($"Unknown region '{spec}'; expected top, bottom, left, right, centre or box:TOP,LEFT,HEIGHT,WIDTH.", nameof(spec));
    }
}
