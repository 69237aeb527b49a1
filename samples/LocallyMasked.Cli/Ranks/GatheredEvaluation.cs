using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Ranks;

/// <summary>
/// An evaluation's figures put together from the ranks' parts: every image's figures travel unchanged, in rank order
/// (which is image order), and the means are summed again over all images in image order, so that the result equals one
/// process's evaluation bit for bit.
/// </summary>
public static class GatheredEvaluation
{
    /// <summary>What a region evaluation is, whatever images a rank has (a rank with none still knows it).</summary>
    /// <param name="Pixels">Pixels in the region.</param>
    /// <param name="Dimensions">Values in the region.</param>
    /// <param name="Orders">Orders mixed.</param>
    /// <param name="RegionLast">Whether the region is generated last.</param>
    public sealed record RegionShape(int Pixels, int Dimensions, int Orders, bool RegionLast);

    /// <summary>
    /// The whole evaluation on every rank, from each rank's part (null for a rank without images): figures per order, the
    /// ensemble's and, with <paramref name="regionShape"/>, the region's, for the images of every rank's range in order.
    /// </summary>
    /// <param name="group">The ranks.</param>
    /// <param name="own">This rank's report, or null when its range is empty.</param>
    /// <param name="ownRegion">This rank's region report, or null (no region, or no images).</param>
    /// <param name="orders">How many orders.</param>
    /// <param name="regionShape">The region evaluated, or null for none.</param>
    /// <param name="ranges">Every rank's range, in rank order.</param>
    /// <param name="dimensions">Dimensions per image.</param>
    /// <param name="wait">How long to wait for the other ranks.</param>
    public static (EvaluationReport Report, RegionEvaluationReport? Region) Gather(RankGroup group, EvaluationReport? own, RegionEvaluationReport? ownRegion,
        int orders, RegionShape? regionShape, IReadOnlyList<ImageRange> ranges, int dimensions, TimeSpan wait)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(ranges);
        int width = orders + 1 + (regionShape is null ? 0 : 1);
        int mine = own?.PerImage.Count ?? 0;
        var values = new double[mine * width];
        for (int i = 0; i < mine; i++)
        {
            var image = own!.PerImage[i];
            for (int o = 0; o < orders; o++) values[i * width + o] = image.PerOrder[o];
            values[i * width + orders] = image.Ensemble;
            if (regionShape is not null) values[i * width + orders + 1] = ownRegion!.PerImage[i];
        }

        var all = group.Gather(values, wait);
        var images = new List<ImageNats>();
        var region = new List<double>();
        int at = 0;
        foreach (var range in ranges)
            for (int index = range.Start; index < range.End; index++, at += width)
            {
                images.Add(new ImageNats(index, all.AsSpan(at, orders).ToArray(), all[at + orders]));
                if (regionShape is not null) region.Add(all[at + orders + 1]);
            }
        if (at != all.Length)
            throw new InvalidOperationException($"The ranks sent {all.Length} values, {at} were expected: the ranks' ranges disagree.");
        var report = EvaluationReport.FromImages(images, dimensions);
        var regionReport = regionShape is null
            ? null
            : RegionEvaluationReport.FromImages(images[0].Index, region, regionShape.Pixels, regionShape.Dimensions, regionShape.Orders, regionShape.RegionLast);
        return (report, regionReport);
    }
}
