using LocallyMasked.Models;
using LocallyMasked.Sampling;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// The sampler asked for with <c>--sampler cached|naive</c>. The cached sampler exists for models that take any order
/// only: for another model an explicit <c>--sampler cached</c> is an error, and the default falls back to the naive
/// sampler with a line saying so.
/// </summary>
/// <param name="Kind">The sampler.</param>
/// <param name="Given">Whether --sampler was typed (rather than left at cached).</param>
public sealed record SamplerChoice(SamplerKind Kind = SamplerKind.Cached, bool Given = false)
{
    /// <summary>The sampler used for a model: <see cref="Kind"/>, or the naive sampler where the cached one does not apply and was not typed.</summary>
    /// <param name="model">The model's catalog entry.</param>
    /// <exception cref="InputError">--sampler cached was typed for a model it does not work with.</exception>
    public SamplerKind For(ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Kind != SamplerKind.Cached || model.Kind == ModelKind.LocallyMaskedPixelCnn) return Kind;
        if (Given)
            throw new InputError(
                $"--sampler cached: the cached sampler works with lmconv models only; this {model.Name} model samples with --sampler naive "
                + "(one full network pass per pixel).");
        return SamplerKind.Naive;
    }

    /// <summary>The sampler for <paramref name="model"/> (<see cref="For"/>), saying so when it falls back to the naive one.</summary>
    /// <param name="model">The model to sample from.</param>
    /// <param name="terminal">Where the fallback is reported.</param>
    /// <exception cref="InputError">--sampler cached was typed for a model it does not work with.</exception>
    public ImageSampler Create(IAutoregressiveImageModel model, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(terminal);
        var definition = ModelCatalog.Get(model.Kind);
        var kind = For(definition);
        if (kind != Kind)
            terminal.Line($"sampler: naive (the cached sampler is for lmconv models; a {definition.Name} model takes one full network pass per pixel)");
        return ImageSampler.Create(kind, model);
    }
}
