using System.Text.Json;
using System.Text.RegularExpressions;

namespace LocallyMasked.Training.Tests.Evaluation;

/// <summary>
/// Checks a JSON document against the part of JSON Schema (2020-12) that docs/evaluation-result.schema.json uses: type
/// (one or several), properties, required, additionalProperties false, items, minItems, minimum, maximum, enum, pattern,
/// anyOf and $ref to #/$defs. A keyword it does not know is an error, so the schema cannot use one unchecked.
/// </summary>
internal static class JsonSchemaSubset
{
    private static readonly HashSet<string> Known =
    [
        "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties", "required", "additionalProperties", "items",
        "minItems", "minimum", "maximum", "enum", "pattern", "anyOf",
    ];

    /// <summary>Every place where <paramref name="document"/> breaks <paramref name="schema"/>, as "path: problem".</summary>
    public static List<string> Problems(JsonElement schema, JsonElement document)
    {
        var problems = new List<string>();
        Check(schema, schema, document, "$", problems);
        return problems;
    }

    private static void Check(JsonElement root, JsonElement schema, JsonElement value, string path, List<string> problems)
    {
        foreach (var keyword in schema.EnumerateObject())
            if (!Known.Contains(keyword.Name)) problems.Add($"{path}: the schema uses '{keyword.Name}', which this checker does not know");
        if (schema.TryGetProperty("$ref", out var reference))
        {
            string name = reference.GetString()!;
            if (!name.StartsWith("#/$defs/", StringComparison.Ordinal)) problems.Add($"{path}: unsupported $ref {name}");
            else Check(root, root.GetProperty("$defs").GetProperty(name["#/$defs/".Length..]), value, path, problems);
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            bool any = anyOf.EnumerateArray().Any(option => Problems(root, option, value).Count == 0);
            if (!any) problems.Add($"{path}: matches none of anyOf");
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : new[] { type.GetString()! };
            if (!types.Any(t => Is(t, value))) problems.Add($"{path}: {value.ValueKind} is not {string.Join(" or ", types)}");
        }
        if (schema.TryGetProperty("enum", out var choices) && !choices.EnumerateArray().Any(c => c.GetRawText() == value.GetRawText()))
            problems.Add($"{path}: {value.GetRawText()} is not among {choices.GetRawText()}");
        if (schema.TryGetProperty("pattern", out var pattern) && value.ValueKind == JsonValueKind.String && !Regex.IsMatch(value.GetString()!, pattern.GetString()!))
            problems.Add($"{path}: '{value.GetString()}' does not match {pattern.GetString()}");
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (schema.TryGetProperty("minimum", out var minimum) && value.GetDouble() < minimum.GetDouble()) problems.Add($"{path}: below {minimum}");
            if (schema.TryGetProperty("maximum", out var maximum) && value.GetDouble() > maximum.GetDouble()) problems.Add($"{path}: above {maximum}");
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required))
                foreach (var name in required.EnumerateArray())
                    if (!value.TryGetProperty(name.GetString()!, out _)) problems.Add($"{path}: lacks '{name.GetString()}'");
            if (schema.TryGetProperty("properties", out var properties))
                foreach (var member in value.EnumerateObject())
                {
                    if (properties.TryGetProperty(member.Name, out var sub)) Check(root, sub, member.Value, $"{path}.{member.Name}", problems);
                    else if (schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind == JsonValueKind.False)
                        problems.Add($"{path}: '{member.Name}' is not in the schema");
                }
        }
        if (value.ValueKind == JsonValueKind.Array)
        {
            if (schema.TryGetProperty("minItems", out var minItems) && value.GetArrayLength() < minItems.GetInt32()) problems.Add($"{path}: fewer than {minItems} items");
            if (schema.TryGetProperty("items", out var items))
            {
                int i = 0;
                foreach (var item in value.EnumerateArray()) Check(root, items, item, $"{path}[{i++}]", problems);
            }
        }
    }

    private static List<string> Problems(JsonElement root, JsonElement schema, JsonElement value)
    {
        var problems = new List<string>();
        Check(root, schema, value, "", problems);
        return problems;
    }

    private static bool Is(string type, JsonElement value) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _) || value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out _),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => throw new ArgumentException($"Unknown type {type} in the schema."),
    };
}
