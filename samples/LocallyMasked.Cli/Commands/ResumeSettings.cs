using LocallyMasked.Numerics;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// <c>train --resume FILE</c>: continue the run stored in a training checkpoint with its model, orders and trainer
/// settings. Only what draws nothing at random may change: the periodic evaluations, and the precision of the products
/// (which changes the last bits of every step from then on, not the draws).
/// </summary>
/// <param name="Path">The checkpoint to continue.</param>
/// <param name="EvaluateEvery">--eval-every when typed; null: the stored value.</param>
/// <param name="EvaluationImages">--eval-images when typed; null: the stored value.</param>
/// <param name="Precision">--precision when typed; null: the stored precision.</param>
public sealed record ResumeSettings(string Path, int? EvaluateEvery = null, int? EvaluationImages = null, ComputePrecision? Precision = null);
