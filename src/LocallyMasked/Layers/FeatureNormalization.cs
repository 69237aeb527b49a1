namespace LocallyMasked.Layers;

/// <summary>How the Locally Masked PixelCNN++ normalizes its features (the reference code's <c>--normalization</c>).</summary>
public enum FeatureNormalization
{
    /// <summary>Positional normalization after the first layer, the resampling layers and inside every block (the published models).</summary>
    Pono = 0,

    /// <summary>Weight normalization of every masked convolution (<c>weight_g</c>, <c>weight_v</c>) and no feature normalization.</summary>
    WeightNorm = 1,

    /// <summary>Plain convolutions and no feature normalization.</summary>
    None = 2,
}
