namespace LocallyMasked.Training;

/// <summary>How image bytes become model inputs.</summary>
public enum InputEncoding
{
    /// <summary>Bytes scaled to [-1, 1] by x / 255 * 2 - 1 (discretized logistic likelihoods).</summary>
    Signed,

    /// <summary>
    /// Dynamic binarization: each pixel is +1 with probability byte / 255 and -1 otherwise, drawn afresh at every
    /// training step (binarized MNIST); evaluation uses one fixed draw per image, seeded by the image index.
    /// </summary>
    DynamicBinarization,
}
