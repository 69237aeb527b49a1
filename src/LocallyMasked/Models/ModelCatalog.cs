using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// The models of the library, one <see cref="ModelDefinition"/> each: the one place that maps a model kind to its name,
/// its types, its constructor and its configuration's JSON. The checkpoint loader builds the model a file records through
/// it, the trainer records what it names, and the program's <c>--model</c> takes its names. A new model is a new entry
/// here (and a <see cref="ModelKind"/> value).
/// </summary>
public static class ModelCatalog
{
    private static readonly ModelDefinition[] Definitions =
    {
        ModelDefinition.Of<LocallyMaskedPixelCnn, PixelCnnConfig>(
            ModelKind.LocallyMaskedPixelCnn, "lmconv", "Locally Masked PixelCNN++", takesAnyOrder: true, orderRestriction: null,
            // Format-1 training checkpoints, written before the baseline existed, record no type.
            formerTypeNames: new[] { string.Empty },
            create: (config, device, dtype) => new LocallyMaskedPixelCnn(config, device, dtype),
            readConfiguration: PixelCnnConfig.FromJson),
        ModelDefinition.Of<PixelCnnPlusPlus, PixelCnnPlusPlusConfig>(
            ModelKind.PixelCnnPlusPlus, "pixelcnn++", "PixelCNN++ baseline", takesAnyOrder: false,
            orderRestriction: "PixelCNN++ models images in raster order only (row by row, left to right: GenerationOrders.Raster)",
            formerTypeNames: Array.Empty<string>(),
            create: (config, device, dtype) => new PixelCnnPlusPlus(config, device, dtype),
            readConfiguration: PixelCnnPlusPlusConfig.FromJson),
    };

    /// <summary>Every model, in the order of <see cref="ModelKind"/>.</summary>
    public static IReadOnlyList<ModelDefinition> Models => Definitions;

    /// <summary>The models' names (<see cref="ModelDefinition.Name"/>), in the order of <see cref="Models"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = Definitions.Select(d => d.Name).ToArray();

    /// <summary>The entry of a kind.</summary>
    /// <param name="kind">A model kind.</param>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a <see cref="ModelKind"/>.</exception>
    public static ModelDefinition Get(ModelKind kind) =>
        Definitions.FirstOrDefault(d => d.Kind == kind)
        ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Unknown model kind; the library has {string.Join(" and ", Definitions.Select(d => d.Kind))}.");

    /// <summary>The entry named <paramref name="name"/> (<see cref="ModelDefinition.Name"/>, as typed: <c>lmconv</c>, <c>pixelcnn++</c>).</summary>
    /// <param name="name">A model name.</param>
    /// <exception cref="ArgumentException">No model has that name; the message lists the names.</exception>
    public static ModelDefinition Named(string name) =>
        TryGetNamed(name, out var definition)
            ? definition
            : throw new ArgumentException($"Unknown model '{name}'; expected {NameList}.", nameof(name));

    /// <summary>The entry named <paramref name="name"/>, if there is one.</summary>
    /// <param name="name">A model name.</param>
    /// <param name="definition">The entry, or null.</param>
    /// <returns>Whether a model has that name.</returns>
    public static bool TryGetNamed(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelDefinition? definition)
    {
        definition = Definitions.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.Ordinal));
        return definition is not null;
    }

    /// <summary>The entry of the model type a training checkpoint records (<see cref="ModelDefinition.RecordedTypeNames"/>).</summary>
    /// <param name="typeName">The recorded type name (empty in the oldest files).</param>
    /// <exception cref="InvalidDataException">No model of the library is recorded under that name; the message names the types it builds.</exception>
    public static ModelDefinition ForRecordedType(string? typeName) =>
        Definitions.FirstOrDefault(d => d.IsRecordedAs(typeName ?? string.Empty))
        ?? throw new InvalidDataException(
            $"The checkpoint holds a model of type '{typeName}', which this library cannot build (it builds {string.Join(" and ", Definitions.Select(d => d.TypeName))}).");

    /// <summary>The entry whose configuration type <paramref name="configuration"/> is.</summary>
    /// <param name="configuration">A configuration of one of the models.</param>
    /// <exception cref="ArgumentException">No model of the library takes that configuration type.</exception>
    public static ModelDefinition For(IImageModelConfig configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Definitions.FirstOrDefault(d => d.ConfigurationType.IsInstanceOfType(configuration))
            ?? throw new ArgumentException(
                $"No model of the library is configured by a {configuration.GetType().Name} (they take {string.Join(" and ", Definitions.Select(d => d.ConfigurationType.Name))}).",
                nameof(configuration));
    }

    /// <summary>A freshly initialized model of the kind its configuration is for.</summary>
    /// <param name="configuration">A <see cref="PixelCnnConfig"/>, a <see cref="PixelCnnPlusPlusConfig"/>, ...</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    /// <exception cref="ArgumentException">No model takes that configuration type, or it is invalid.</exception>
    public static IAutoregressiveImageModel Create(IImageModelConfig configuration, Device? device = null, ScalarType? dtype = null) =>
        For(configuration).Create(configuration, device, dtype);

    /// <summary>"lmconv or pixelcnn++".</summary>
    private static string NameList => string.Join(" or ", Definitions.Select(d => d.Name));
}
