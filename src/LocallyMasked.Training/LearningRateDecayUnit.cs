namespace LocallyMasked.Training;

/// <summary>How often <see cref="TrainerOptions.LearningRateDecay"/> multiplies the learning rate.</summary>
public enum LearningRateDecayUnit
{
    /// <summary>After every optimisation step, as PixelCNN++'s original code does: lr(step) = lr * decay^step.</summary>
    Step,

    /// <summary>
    /// After every epoch (every whole pass over the training images in batches), as the LMConv authors' PyTorch loop
    /// does with <c>StepLR(step_size=1)</c> stepped once per epoch: lr(step) = lr * decay^epoch(step).
    /// </summary>
    Epoch,
}
