namespace LocallyMasked.Training;

/// <summary>What the trainer reports after each step.</summary>
/// <param name="Step">Steps completed so far (counting those before a resume).</param>
/// <param name="TargetStep">The step the current run stops at.</param>
/// <param name="Loss">This step's mean negative log-likelihood, nats per image.</param>
/// <param name="RunningLoss">Mean of the last (up to 50) step losses, nats per image.</param>
/// <param name="RunningBitsPerDimension">The running loss in bits per dimension.</param>
/// <param name="LearningRate">The learning rate this step used.</param>
/// <param name="SecondsPerStep">Mean wall-clock seconds per step in this run.</param>
/// <param name="TestLoss">Test negative log-likelihood (nats per image) when this step ran a periodic evaluation, else null.</param>
public readonly record struct TrainingProgress(
    long Step,
    long TargetStep,
    double Loss,
    double RunningLoss,
    double RunningBitsPerDimension,
    double LearningRate,
    double SecondsPerStep,
    double? TestLoss);
