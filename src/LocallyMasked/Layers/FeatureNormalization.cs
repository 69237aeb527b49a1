namespace LocallyMasked.Layers;

/// <summary>How the Locally Masked PixelCNN++ normalizes its features (the reference code's <c>--normalization</c>: <c>pono</c>, <c>weight_norm</c>, <c>none</c>, <c>order_rescale</c>).</summary>
public enum FeatureNormalization
{
    /// <summary>Positional normalization after the first layer, the resampling layers and inside every block (the published models).</summary>
    Pono = 0,

    /// <summary>Weight normalization of every masked convolution (<c>weight_g</c>, <c>weight_v</c>) and no feature normalization.</summary>
    WeightNorm = 1,

    /// <summary>Plain convolutions and no feature normalization.</summary>
    None = 2,

    /// <summary>
    /// Where PONO would be applied, each location's features are divided by the number of taps its mask lets it see (the
    /// reference code's <c>order_rescale</c>): the undilated type-B mask after the first convolution and in the blocks, the
    /// dilated mask after the resampling convolutions. No learned parameters.
    /// </summary>
    OrderRescale = 3,
}
