namespace LocallyMasked.Likelihoods;

/// <summary>The per-pixel output distribution of the model.</summary>
public enum LikelihoodKind
{
    /// <summary>Discretized logistic mixture over RGB with channel coupling (PixelCNN++): 10 parameters per component.</summary>
    RgbLogisticMixture = 0,

    /// <summary>Discretized logistic mixture over one channel: 3 parameters (logit, mean, log-scale) per component.</summary>
    GreyLogisticMixture = 1,

    /// <summary>Binary pixels (fed as -1 / +1): 2 logits per pixel, a categorical distribution.</summary>
    Binary = 2,
}
