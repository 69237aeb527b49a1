using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace LocallyMasked.Training;

/// <summary>Finds the first tensor that is not finite when a step's loss or gradient is NaN or infinite.</summary>
internal static class DivergenceDiagnosis
{
    /// <summary>
    /// The first of, in this order: a parameter that is not finite (by state-dict name), the input batch, the loss of an
    /// image (by its index in the training set), a gradient that is not finite; null when all are finite.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">The step's encoded images, or null.</param>
    /// <param name="losses">The step's per-image losses (N), or null.</param>
    /// <param name="indices">The images' indices in the training set.</param>
    public static string? FirstNonFinite(Module model, Tensor? inputs, Tensor? losses, IReadOnlyList<int> indices)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var named = model.named_parameters().ToArray();
        foreach (var (name, parameter) in named)
            if (!AllFinite(parameter)) return $"parameter '{name}'";
        if (inputs is not null && !AllFinite(inputs)) return "the input batch";
        if (losses is not null && !AllFinite(losses))
        {
            var finite = isfinite(losses.detach()).to(CPU).data<bool>().ToArray();
            int position = Array.IndexOf(finite, false);
            return $"the loss of training image {indices[position]} (position {position} of the batch)";
        }
        foreach (var (name, parameter) in named)
            if (parameter.grad is { } grad && !AllFinite(grad)) return $"the gradient of parameter '{name}'";
        return null;
    }

    private static bool AllFinite(Tensor t) => isfinite(t.detach()).all().item<bool>();
}
