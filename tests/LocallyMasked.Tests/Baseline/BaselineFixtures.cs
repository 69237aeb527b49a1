using System.Runtime.CompilerServices;
using System.Text.Json;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;

namespace LocallyMasked.Tests.Baseline;

/// <summary>
/// The manifest of Fixtures/make_baseline_fixtures.py: tiny random-weight PixelCNN++ models built by the authors'
/// baseline.py, saved as their main.py saves, with per-image log-likelihoods computed by their loss functions.
/// </summary>
internal static class BaselineFixtures
{
    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllText(Path("baseline_manifest.json"))));

    // Beside this source file, whichever test project compiles it.
    private static readonly string Folder = FixturesFolder();

    public static string Path(string name) => System.IO.Path.Combine(Folder, name);

    private static string FixturesFolder([CallerFilePath] string source = "") =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(source)!, "Fixtures");

    public static IEnumerable<string> ModelNames =>
        Manifest.Value.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!).ToArray();

    public static JsonElement Model(string name) =>
        Manifest.Value.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);

    public static int Height => Manifest.Value.RootElement.GetProperty("height").GetInt32();

    public static int Width => Manifest.Value.RootElement.GetProperty("width").GetInt32();

    /// <summary>The configuration equal to the fixture model's (dropout 0.5 as in their baseline; tests run in eval mode).</summary>
    public static PixelCnnPlusPlusConfig Config(string name)
    {
        var m = Model(name);
        return new PixelCnnPlusPlusConfig
        {
            ImageChannels = m.GetProperty("image_channels").GetInt32(),
            Height = Height,
            Width = Width,
            Filters = m.GetProperty("filters").GetInt32(),
            ResidualBlocks = m.GetProperty("residual_blocks").GetInt32(),
            MixtureComponents = m.GetProperty("mixture_components").GetInt32(),
            Bits = m.GetProperty("bits").GetInt32(),
            Likelihood = m.GetProperty("likelihood").GetString() switch
            {
                "rgb" => LikelihoodKind.RgbLogisticMixture,
                "grey" => LikelihoodKind.GreyLogisticMixture,
                "binary" => LikelihoodKind.Binary,
                var other => throw new InvalidDataException($"Unknown likelihood {other}."),
            },
            Dropout = m.GetProperty("dropout_in_model").EnumerateArray().Single().GetDouble(),
        };
    }

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
