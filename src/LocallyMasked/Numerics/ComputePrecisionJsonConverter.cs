using System.Text.Json;
using System.Text.Json.Serialization;

namespace LocallyMasked.Numerics;

/// <summary>Writes a <see cref="ComputePrecision"/> as its name ("32", "bf16-mixed") and reads it back, so that settings
/// that hold one (a trainer's, stored in checkpoints) round-trip through JSON.</summary>
internal sealed class ComputePrecisionJsonConverter : JsonConverter<ComputePrecision>
{
    public override ComputePrecision Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"Expected a compute precision name ({ComputePrecision.Names}), got a {reader.TokenType}.");
        var name = reader.GetString();
        return ComputePrecision.TryParse(name, out var precision)
            ? precision
            : throw new JsonException($"Expected a compute precision of {ComputePrecision.Names}, got '{name}'.");
    }

    public override void Write(Utf8JsonWriter writer, ComputePrecision value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
}
