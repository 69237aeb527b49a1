namespace LocallyMasked.Training.Evaluation;

public sealed partial record EvaluationResult
{
    /// <summary>
    /// Puts the parts of a sharded evaluation together, in any order given: the whole evaluation's result, equal to one
    /// evaluation of all the images bit for bit (every image's figures are the same, and the means are their sums in
    /// image order). A whole result counts as part 0 of 1.
    /// </summary>
    /// <param name="parts">The parts, one per shard of the same evaluation.</param>
    /// <param name="names">What to call each part in messages (file names), or null: "part 1", "part 2", ...</param>
    /// <exception cref="ArgumentException">No parts; parts of different models, data, orders, seeds, batch sizes or regions
    /// (named), of different shard counts, the same shard twice, a missing shard, or shards whose images do not follow
    /// each other.</exception>
    public static EvaluationResult Merge(IReadOnlyList<EvaluationResult> parts, IReadOnlyList<string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Expected at least one part.", nameof(parts));
        if (names is not null && names.Count != parts.Count) throw new ArgumentException($"Expected {parts.Count} names, got {names.Count}.", nameof(names));
        string Name(int i) => names?[i] ?? $"part {i + 1}";
        ResultShard ShardOf(EvaluationResult part) =>
            part.Shard ?? new ResultShard { Index = 0, Count = 1, First = part.PerImage[0].Index, Total = part.Images };

        var head = parts[0];
        for (int i = 1; i < parts.Count; i++)
        {
            var part = parts[i];
            string against = $"{Name(i)} and {Name(0)}";
            if (!part.Model.SameModelAs(head.Model))
                throw new ArgumentException($"{against} are of different models ({Describe(part.Model)}; {Describe(head.Model)}): merge parts of one evaluation.", nameof(parts));
            if (!part.Data.SameDataAs(head.Data))
                throw new ArgumentException($"{against} are of different data ({Describe(part.Data)}; {Describe(head.Data)}): merge parts of one evaluation.", nameof(parts));
            if (!part.Orders.Select(o => o.Sha256).SequenceEqual(head.Orders.Select(o => o.Sha256)))
                throw new ArgumentException($"{against} are under different orders ({string.Join(", ", part.Orders.Select(o => o.Name))}; {string.Join(", ", head.Orders.Select(o => o.Name))}): merge parts of one evaluation.", nameof(parts));
            if (part.Seed != head.Seed)
                throw new ArgumentException($"{against} were run with different seeds ({part.Seed} and {head.Seed}): merge parts of one evaluation.", nameof(parts));
            if (part.BatchSize != head.BatchSize)
                throw new ArgumentException($"{against} were run with different batch sizes ({part.BatchSize} and {head.BatchSize}), which cut the shards differently: run every shard with the same --batch-size.", nameof(parts));
            if ((part.Region is null) != (head.Region is null) || (part.Region is not null && !part.Region.SameRegionAs(head.Region!)))
                throw new ArgumentException($"{against} score different regions ({part.Region?.Name ?? "none"} and {head.Region?.Name ?? "none"}): merge parts of one evaluation.", nameof(parts));
            if (ShardOf(part).Count != ShardOf(head).Count)
                throw new ArgumentException($"{against} are shards of {ShardOf(part).Count} and of {ShardOf(head).Count} parts: merge the parts of one --shard I/N run.", nameof(parts));
            if (ShardOf(part).Total != ShardOf(head).Total)
                throw new ArgumentException($"{against} are parts of evaluations of {ShardOf(part).Total} and {ShardOf(head).Total} images: merge parts of one evaluation.", nameof(parts));
        }

        int count = ShardOf(head).Count, total = ShardOf(head).Total;
        var byIndex = new int?[count];
        for (int i = 0; i < parts.Count; i++)
        {
            int index = ShardOf(parts[i]).Index;
            if (byIndex[index] is { } earlier)
                throw new ArgumentException($"{Name(i)} and {Name(earlier)} are both shard {index}/{count}: give each shard once.", nameof(parts));
            byIndex[index] = i;
        }
        var missing = Enumerable.Range(0, count).Where(s => byIndex[s] is null).ToArray();
        if (missing.Length > 0)
            throw new ArgumentException(
                $"shard{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing.Select(s => $"{s}/{count}"))} {(missing.Length > 1 ? "are" : "is")} missing: give every part of the --shard I/{count} run.",
                nameof(parts));

        var ordered = byIndex.Select(i => parts[i!.Value]).ToArray();
        int next = 0;
        for (int s = 0; s < count; s++)
        {
            var shard = ShardOf(ordered[s]);
            if (shard.First != next)
                throw new ArgumentException(
                    $"{Name(byIndex[s]!.Value)} (shard {s}/{count}) starts at image {shard.First}, where image {next} was expected: the parts overlap or leave a gap.", nameof(parts));
            next = shard.First + ordered[s].Images;
        }
        if (next != total)
            throw new ArgumentException($"the parts hold images 0 to {next - 1} of the evaluation's {total}: a part is incomplete.", nameof(parts));

        return Summarize(head with
        {
            Images = total,
            Shard = null,
            PerImage = ordered.SelectMany(part => part.PerImage).ToArray(),
        });
    }

    private static string Describe(EvaluatedModel model) =>
        $"{model.Kind} {string.Join("+", model.Sha256.Select(h => h.Length > 12 ? h[..12] : h))}, {model.Weights} weights{(model.Loading.Length > 0 ? ", " + model.Loading : "")}";

    private static string Describe(EvaluatedData data) =>
        $"{data.Dataset} {data.Split} {data.Channels}x{data.Height}x{data.Width} {data.Bits}-bit, images {(data.Sha256.Length > 12 ? data.Sha256[..12] : data.Sha256)}";
}
