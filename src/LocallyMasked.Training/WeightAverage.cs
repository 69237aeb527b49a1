using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace LocallyMasked.Training;

/// <summary>
/// An exponential moving average of a model's parameters: avg = decay * avg + (1 - decay) * weight after every step.
/// The averaged tensors live outside any dispose scope, on the parameters' devices, and can be swapped into the model
/// for evaluation.
/// </summary>
public sealed class WeightAverage : IDisposable
{
    private readonly Dictionary<string, Tensor> average = new();
    private readonly Dictionary<string, Tensor> parameters = new();

    /// <summary>Starts an average equal to the model's current parameters.</summary>
    /// <param name="model">The model.</param>
    /// <param name="decay">The decay in [0, 1).</param>
    public WeightAverage(Module model, double decay)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(decay >= 0 && decay < 1)) throw new ArgumentException($"Expected a decay in [0, 1), got {decay}.", nameof(decay));
        Decay = decay;
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            parameters[name] = parameter;
            average[name] = parameter.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <summary>The decay.</summary>
    public double Decay { get; }

    /// <summary>The averaged tensors by parameter name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => average;

    /// <summary>Moves the average towards the model's current parameters.</summary>
    public void Update()
    {
        using var noGrad = no_grad();
        using var decay = Decay.ToScalar();
        using var rest = (1 - Decay).ToScalar();
        foreach (var (name, avg) in average)
            avg.mul_(decay).add_(parameters[name], rest);
    }

    /// <summary>
    /// Swaps the averaged weights into the model until the returned handle is disposed, which restores the trained
    /// weights exactly.
    /// </summary>
    public IDisposable Apply()
    {
        Swap();
        return new Restore(this);
    }

    private void Swap()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, avg) in average)
        {
            var current = parameters[name].clone();
            parameters[name].copy_(avg);
            avg.copy_(current);
        }
    }

    /// <summary>Frees the averaged tensors.</summary>
    public void Dispose()
    {
        foreach (var t in average.Values) t.Dispose();
        average.Clear();
    }

    private sealed class Restore(WeightAverage owner) : IDisposable
    {
        private bool done;

        public void Dispose()
        {
            if (done) return;
            done = true;
            owner.Swap();
        }
    }
}
