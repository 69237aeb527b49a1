namespace LocallyMasked.Sampling;

/// <summary>The two ways of generating images pixel by pixel.</summary>
public enum SamplerKind
{
    /// <summary>
    /// One full network pass over the whole image per generated pixel (the reference path, as in the
    /// authors' code): H*W passes per image set.
    /// </summary>
    Naive,

    /// <summary>
    /// Every layer evaluated at the generated pixel only, from cached activations of the earlier pixels:
    /// about one full pass per image set. Exact for any order.
    /// </summary>
    Cached,
}
