namespace LocallyMasked.Masks;

/// <summary>Whether a mask lets a pixel see itself (the centre tap of the kernel).</summary>
public enum MaskType
{
    /// <summary>Centre tap excluded: for the first layer, which sees the input pixel values.</summary>
    A,

    /// <summary>Centre tap included: for later layers, whose input at a pixel is already causal.</summary>
    B,
}
