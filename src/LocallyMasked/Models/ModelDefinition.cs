using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// Everything the library knows about one model kind, in one place: its name in the program and in checkpoints, its
/// module and configuration types, how to build it, and how its configuration is written to and read from JSON. The
/// entries are in <see cref="ModelCatalog"/>; code that handles either model (the loader, the trainer, the program) asks
/// the catalog instead of switching on <see cref="ModelKind"/>.
/// </summary>
public sealed class ModelDefinition
{
    private readonly Func<IImageModelConfig, Device?, ScalarType?, IAutoregressiveImageModel> _create;
    private readonly Func<string, IImageModelConfig> _readConfiguration;
    private readonly IReadOnlyList<string> _recordedTypeNames;

    private ModelDefinition(ModelKind kind, string name, string description, Type modelType, Type configurationType, bool takesAnyOrder,
        string? orderRestriction, IEnumerable<string> formerTypeNames,
        Func<IImageModelConfig, Device?, ScalarType?, IAutoregressiveImageModel> create, Func<string, IImageModelConfig> readConfiguration)
    {
        Kind = kind;
        Name = name;
        Description = description;
        ModelType = modelType;
        ConfigurationType = configurationType;
        TakesAnyOrder = takesAnyOrder;
        OrderRestriction = orderRestriction;
        _create = create;
        _readConfiguration = readConfiguration;
        _recordedTypeNames = new[] { TypeName, modelType.Name }.Concat(formerTypeNames).ToArray();
    }

    /// <summary>Which model this is.</summary>
    public ModelKind Kind { get; }

    /// <summary>The model's name where a person types it: <c>lmconv train --model NAME</c> and the program's messages (<c>lmconv</c>, <c>pixelcnn++</c>).</summary>
    public string Name { get; }

    /// <summary>The model's name in prose ("Locally Masked PixelCNN++", "PixelCNN++ baseline").</summary>
    public string Description { get; }

    /// <summary>The module type (<see cref="LocallyMaskedPixelCnn"/>, <see cref="PixelCnnPlusPlus"/>).</summary>
    public Type ModelType { get; }

    /// <summary>The configuration type its constructor takes (<see cref="PixelCnnConfig"/>, <see cref="PixelCnnPlusPlusConfig"/>).</summary>
    public Type ConfigurationType { get; }

    /// <summary>The type name training checkpoints record for this model (the module type's full name).</summary>
    public string TypeName => ModelType.FullName!;

    /// <summary>
    /// The type names a training checkpoint may record for this model: <see cref="TypeName"/>, the short type name, and
    /// those of older files (the Locally Masked PixelCNN++ is also the model of files that record none).
    /// </summary>
    public IReadOnlyList<string> RecordedTypeNames => _recordedTypeNames;

    /// <summary>Whether the model takes any generation order of its image size (else only <see cref="IAutoregressiveImageModel.SupportedOrders"/>).</summary>
    public bool TakesAnyOrder { get; }

    /// <summary>
    /// For a model restricted to some orders, the sentence that says which (used in the message that refuses another
    /// order); null for a model that takes any order.
    /// </summary>
    public string? OrderRestriction { get; }

    /// <summary>A freshly initialized model of this kind.</summary>
    /// <param name="configuration">Its configuration, of type <see cref="ConfigurationType"/> (validated by the model).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    /// <exception cref="ArgumentException">The configuration is of another type, or invalid.</exception>
    public IAutoregressiveImageModel Create(IImageModelConfig configuration, Device? device = null, ScalarType? dtype = null)
    {
        CheckType(configuration, nameof(configuration));
        return _create(configuration, device, dtype);
    }

    /// <summary>The configuration as JSON, the form in which training checkpoints record it.</summary>
    /// <param name="configuration">A configuration of type <see cref="ConfigurationType"/>.</param>
    /// <exception cref="ArgumentException">The configuration is of another type.</exception>
    public string WriteConfiguration(IImageModelConfig configuration)
    {
        CheckType(configuration, nameof(configuration));
        return configuration.ToJson();
    }

    /// <summary>Reads a configuration written by <see cref="WriteConfiguration"/> and validates it.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>A configuration of type <see cref="ConfigurationType"/>.</returns>
    /// <exception cref="InvalidDataException">The text is not a valid configuration of this model; the message says why.</exception>
    public IImageModelConfig ReadConfiguration(string json) => _readConfiguration(json);

    /// <summary>Whether <paramref name="typeName"/> is one of <see cref="RecordedTypeNames"/>.</summary>
    /// <param name="typeName">A type name recorded by a training checkpoint.</param>
    public bool IsRecordedAs(string typeName) => _recordedTypeNames.Contains(typeName ?? string.Empty, StringComparer.Ordinal);

    /// <summary>The name, as the program writes it.</summary>
    public override string ToString() => Name;

    /// <summary>The entry of a model type and its configuration type.</summary>
    /// <typeparam name="TModel">The module type.</typeparam>
    /// <typeparam name="TConfig">Its configuration type.</typeparam>
    /// <param name="kind">Which model.</param>
    /// <param name="name">The program's name.</param>
    /// <param name="description">The name in prose.</param>
    /// <param name="takesAnyOrder">Whether any order of the image size is supported.</param>
    /// <param name="orderRestriction">The sentence naming the only orders, for a restricted model.</param>
    /// <param name="formerTypeNames">Type names older checkpoints record for it.</param>
    /// <param name="create">The constructor.</param>
    /// <param name="readConfiguration">The configuration's JSON reader.</param>
    internal static ModelDefinition Of<TModel, TConfig>(ModelKind kind, string name, string description, bool takesAnyOrder,
        string? orderRestriction, IEnumerable<string> formerTypeNames, Func<TConfig, Device?, ScalarType?, TModel> create,
        Func<string, TConfig> readConfiguration)
        where TModel : IAutoregressiveImageModel
        where TConfig : IImageModelConfig =>
        new(kind, name, description, typeof(TModel), typeof(TConfig), takesAnyOrder, orderRestriction, formerTypeNames,
            (config, device, dtype) => create((TConfig)config, device, dtype), json => readConfiguration(json));

    private void CheckType(IImageModelConfig configuration, string argumentName)
    {
        ArgumentNullException.ThrowIfNull(configuration, argumentName);
        if (!ConfigurationType.IsInstanceOfType(configuration))
            throw new ArgumentException(
                $"A {Description} ({Name}) is configured by a {ConfigurationType.Name}, got a {configuration.GetType().Name}.", argumentName);
    }
}
