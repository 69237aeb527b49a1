using System.Text.Json;
using System.Text.Json.Nodes;

namespace LocallyMasked.Models;

/// <summary>How the models' configurations are read back from the JSON that training checkpoints record.</summary>
internal static class ConfigurationJson
{
    /// <summary>Reads and validates a configuration written by its <see cref="IImageModelConfig.ToJson"/>.</summary>
    /// <typeparam name="T">The configuration type.</typeparam>
    /// <param name="json">The JSON text.</param>
    /// <param name="refuse">Looks at the parsed JSON first and throws an <see cref="InvalidDataException"/> for content no
    /// version of this library can load (for example a field of an older, incompatible version); null for none.</param>
    /// <exception cref="InvalidDataException">The text is not a valid configuration; the message says why.</exception>
    public static T Read<T>(string json, Action<JsonNode?>? refuse = null) where T : class, IImageModelConfig
    {
        if (string.IsNullOrWhiteSpace(json)) throw new InvalidDataException("No model configuration was recorded.");
        T config;
        try
        {
            refuse?.Invoke(JsonNode.Parse(json));
            config = JsonSerializer.Deserialize<T>(json) ?? throw new InvalidDataException("The model configuration is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The model configuration is not a {typeof(T).Name} ({e.Message}).", e);
        }
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The recorded model configuration is invalid: {e.Message}", e);
        }
        return config;
    }
}
