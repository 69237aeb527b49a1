using System.Text.Json;

namespace LocallyMasked.Cli.Outputs;

/// <summary>
/// The JSON manifest that <c>sample</c> and <c>complete</c> write beside their pictures: what made them (command,
/// checkpoint, seed, order) and every file the run wrote, with what each is. Its fields are documented in
/// docs/outputs.md; <see cref="Version"/> grows when they change.
/// </summary>
/// <param name="Command">"sample" or "complete".</param>
/// <param name="Checkpoint">The --checkpoint path as given.</param>
/// <param name="Seed">The --seed.</param>
/// <param name="Order">The order the images were generated in.</param>
/// <param name="Files">The files written, in the order they were written.</param>
public sealed record RunManifest(string Command, string Checkpoint, ulong Seed, ManifestOrder Order, IReadOnlyList<ManifestFile> Files)
{
    /// <summary>For a part of a run (<c>sample --shard</c>): which part; null for a whole run.</summary>
    public ManifestShard? Shard { get; init; }

    /// <summary>The manifest format's version.</summary>
    public const int Version = 1;

    /// <summary>The manifest's file for pictures named <paramref name="name"/> (the sheets' base name): NAME.json.</summary>
    /// <param name="name">The sheets' base name ("samples", "completions-bottom").</param>
    public static string FileName(string name) => $"{name}.json";

    /// <summary>Writes the manifest as <paramref name="path"/> (through a temporary file, so that a reader never sees half of it).</summary>
    /// <param name="path">The manifest's path.</param>
    public void Write(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = File.Create(temporary))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", Version);
            json.WriteString("command", Command);
            json.WriteString("checkpoint", Checkpoint);
            json.WriteNumber("seed", Seed);
            json.WriteStartObject("order");
            json.WriteNumber("index", Order.Index);
            if (Order.Name is { } name) json.WriteString("name", name);
            else json.WriteNull("name");
            if (Order.MissingLast is { } last) json.WriteBoolean("missingLast", last);
            json.WriteEndObject();
            if (Shard is { } shard)
            {
                json.WriteStartObject("shard");
                json.WriteNumber("index", shard.Index);
                json.WriteNumber("count", shard.Count);
                json.WriteNumber("first", shard.First);
                json.WriteNumber("images", shard.Images);
                json.WriteEndObject();
            }
            json.WriteStartArray("files");
            foreach (var file in Files)
            {
                json.WriteStartObject();
                json.WriteString("path", file.Path);
                json.WriteString("kind", file.Kind);
                if (file.Images is { } images) json.WriteNumber("images", images);
                if (file.First is { } first) json.WriteNumber("first", first);
                if (file.Source is { } source) json.WriteString("image", source);
                if (file.Completion is { } completion) json.WriteNumber("completion", completion);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        File.Move(temporary, path, overwrite: true);
    }
}
