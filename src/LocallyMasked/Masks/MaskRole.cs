namespace LocallyMasked.Masks;

/// <summary>Which of a mask set's three masks a convolution uses.</summary>
internal enum MaskRole
{
    /// <summary>The first layer's type-A mask.</summary>
    First,

    /// <summary>The type-B mask of the residual blocks.</summary>
    Undilated,

    /// <summary>The dilated type-B mask of the resampling streams.</summary>
    Dilated,
}
