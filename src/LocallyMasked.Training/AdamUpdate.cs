using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// The update of TorchSharp's <see cref="Adam"/> optimizer, computed here with Scalars that outlive the native calls: its
/// own <c>step()</c> passes temporary Scalars (<c>mul_(beta1)</c>, <c>add_(grad, alpha: 1 - beta1)</c>) that a collection on
/// another thread may free while libtorch reads them. The optimizer object keeps the state (moments, step counts, learning
/// rates) and its file format; this class performs the same operations in the same order, so the result equals
/// <c>step()</c>'s to the bit (a test checks it). Weight decay, AMSGrad and maximize are not used by the trainer and are
/// refused.
/// </summary>
internal static class AdamUpdate
{
    /// <summary>Applies one Adam step to every parameter that has a gradient, with each group's current learning rate.</summary>
    /// <param name="optimizer">An optimizer made by <c>optim.Adam</c>.</param>
    public static void Apply(Adam optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var states = optimizer.state_dict().State;
        int next = 0;
        using var noGrad = no_grad();
        foreach (var group in optimizer.ParamGroups.Cast<Adam.ParamGroup>())
        {
            var options = group.Options;
            if (options.weight_decay is not (null or 0.0) || options.amsgrad == true || options.maximize == true)
                throw new NotSupportedException("The trainer's Adam update has no weight decay, AMSGrad or maximize.");
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, eps = options.eps!.Value, rate = options.LearningRate!.Value;
            using var keep1 = beta1.ToScalar();
            using var take1 = (1 - beta1).ToScalar();
            using var keep2 = beta2.ToScalar();
            using var take2 = (1 - beta2).ToScalar();
            using var epsilon = eps.ToScalar();
            foreach (var parameter in group.Parameters)
            {
                var state = (Adam.State)states[next++];
                if (parameter.grad is not { } grad) continue;
                using var scope = NewDisposeScope();
                state.step += 1;
                double correction1 = 1 - Math.Pow(beta1, state.step);
                double correction2 = 1 - Math.Pow(beta2, state.step);
                state.exp_avg.mul_(keep1).add_(grad, take1);
                state.exp_avg_sq.mul_(keep2).addcmul_(grad, grad.conj(), take2);
                using var root2 = Math.Sqrt(correction2).ToScalar();
                var denominator = state.exp_avg_sq.sqrt().div(root2).add_(epsilon, Scalars.One);
                using var stepSize = (-(rate / correction1)).ToScalar();
                parameter.addcdiv_(state.exp_avg, denominator, stepSize);
            }
        }
    }
}
