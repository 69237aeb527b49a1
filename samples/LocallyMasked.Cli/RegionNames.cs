using LocallyMasked.Orders;

namespace LocallyMasked.Cli;

/// <summary>Parses --region values: top, bottom, left, right, centre, or box:TOP,LEFT,HEIGHT,WIDTH.</summary>
public static class RegionNames
{
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
