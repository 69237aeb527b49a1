namespace LocallyMasked.Cli.Commands;

/// <summary>
/// <c>train --resume FILE</c>: continue the run stored in a training checkpoint with its model, orders and trainer
/// settings. Only what draws nothing at random may change: the periodic evaluations.
/// </summary>
/// <param name="Path">The checkpoint to continue.</param>
/// <param name="EvaluateEvery">--eval-every when typed; null: the stored value.</param>
/// <param name="EvaluationImages">--eval-images when typed; null: the stored value.</param>
public sealed record ResumeSettings(string Path, int? EvaluateEvery = null, int? EvaluationImages = null);
