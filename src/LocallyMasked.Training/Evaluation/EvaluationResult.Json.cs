using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LocallyMasked.Training.Evaluation;

public sealed partial record EvaluationResult
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        // A diverged model's infinite or NaN figure is written as "Infinity" / "NaN" rather than failing the whole file.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>
    /// The result as JSON text in the schema of docs/evaluation-results.md: camelCase members, numbers written so that
    /// they read back as the same doubles, absent figures as null.
    /// </summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions) + "\n";

    /// <summary>Reads a result written by <see cref="ToJson"/> (of this schema version or an older one) and checks that it holds together.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="InvalidDataException">Not JSON, not an evaluation result, a newer schema version, or figures that do
    /// not hold together (a missing member, an image without a figure per order, a part past its evaluation's end).</exception>
    public static EvaluationResult FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        EvaluationResult? result;
        try
        {
            using (var document = JsonDocument.Parse(json))
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object
                    || !document.RootElement.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number)
                    throw new InvalidDataException("not an evaluation result (no schemaVersion)");
                if (!version.TryGetInt32(out int number) || number < 1)
                    throw new InvalidDataException($"schemaVersion {version.GetRawText()} is not a schema version (1 or later)");
                if (number > CurrentSchemaVersion)
                    throw new InvalidDataException($"schemaVersion {number} is newer than this program reads ({CurrentSchemaVersion}); use a newer version");
            }
            result = JsonSerializer.Deserialize<EvaluationResult>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not an evaluation result ({FirstLine(e.Message)})", e);
        }
        if (result is null) throw new InvalidDataException("not an evaluation result (null)");
        result.Validate();
        return result;
    }

    /// <summary>Checks that the members hold together; the first problem is an <see cref="InvalidDataException"/>.</summary>
    private void Validate()
    {
        static void Require([DoesNotReturnIf(false)] bool condition, string problem)
        {
            if (!condition) throw new InvalidDataException(problem);
        }

        Require(Model is { Kind: not null, Files: not null, Sha256: not null, Weights: not null, Description: not null, Loading: not null }, "model: a member is missing or null");
        Require(Data is { Dataset: not null, Source: not null, Split: not null, Sha256: not null }, "data: a member is missing or null");
        Require(Data.Channels >= 1 && Data.Height >= 1 && Data.Width >= 1, "data: channels, height and width must be at least 1");
        Require(Orders is { Count: > 0 } && Orders.All(o => o is { Name: not null, Sha256: not null }), "orders: expected at least one order, each with a name and sha256");
        Require(Orders.Select((o, i) => o.Index == i).All(same => same), "orders: expected indices 0, 1, ... in order");
        Require(Ensemble is not null && Ensemble.Orders == Orders.Count, "ensemble: expected the number of orders mixed, equal to the orders listed");
        Require(PerImage is not null && PerImage.Count == Images && Images > 0, $"perImage: expected {Images} images' figures (images), at least one");
        Require(BatchSize >= 1, "batchSize: expected at least 1");
        int first = Shard?.First ?? PerImage[0].Index;
        for (int i = 0; i < PerImage.Count; i++)
        {
            var image = PerImage[i] ?? throw new InvalidDataException($"perImage[{i}]: null");
            Require(image.Nats is not null, $"perImage[{i}]: without nats");
            Require(image.Index == first + i, $"perImage[{i}]: index {image.Index}, expected {first + i} (consecutive images)");
            Require(image.Nats.Count == Orders.Count, $"perImage[{i}]: {image.Nats.Count} figures, expected one per order ({Orders.Count})");
            Require(image.Region.HasValue == (Region is not null), $"perImage[{i}]: {(Region is null ? "a region figure without a region" : "no region figure")}");
        }
        if (Shard is { } shard)
        {
            Require(shard.Count >= 1 && shard.Index >= 0 && shard.Index < shard.Count, $"shard: part {shard.Index} of {shard.Count} (parts are numbered from 0)");
            Require(shard.First >= 0 && (long)shard.First + Images <= shard.Total, $"shard: images {shard.First} to {shard.First + Images - 1} lie outside the evaluation's {shard.Total}");
        }
        Require(Region is null || Region.Name is not null, "region: expected a name");
    }

    private static string FirstLine(string message)
    {
        int newline = message.IndexOfAny(new[] { '\r', '\n' });
        return newline < 0 ? message : message[..newline];
    }
}
