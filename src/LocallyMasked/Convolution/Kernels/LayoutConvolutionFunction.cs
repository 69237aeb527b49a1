using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// The autograd plumbing shared by the column kernels that a precomputed layout describes
/// (<see cref="WideColumnsFunction"/>, <see cref="GatheredColumnsFunction"/>): the forward saves the input and the
/// weight and keeps the layout and which inputs need gradients; the backward returns the gradients of the input, the
/// weight and the bias (none for the layout). A kernel supplies only its two computations.
/// </summary>
/// <typeparam name="TSelf">The kernel (TorchSharp's function pattern: one instance per type).</typeparam>
/// <typeparam name="TLayout">The kernel's layout, passed as the fourth argument of <c>apply</c>.</typeparam>
/// <remarks>Arguments of <c>apply</c>: x (N, C, H, W), weight, bias (O) or null, layout.</remarks>
internal abstract class LayoutConvolutionFunction<TSelf, TLayout> : autograd.SingleTensorFunction<TSelf>
    where TSelf : LayoutConvolutionFunction<TSelf, TLayout>, new()
    where TLayout : class
{
    /// <summary>Computes the convolution; see the class remarks for the argument order.</summary>
    public sealed override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var bias = vars[2] as Tensor;
        var layout = (TLayout)vars[3];
        ctx.save_for_backward(new List<Tensor> { x, weight });
        ctx.save_data("layout", layout);
        ctx.save_data("needs", (x.requires_grad, weight.requires_grad, bias is not null && bias.requires_grad));

        using var scope = NewDisposeScope();
        return Compute(x, weight, bias, layout).MoveToOuterDisposeScope();
    }

    /// <summary>Gradients for x, weight and bias; null for the layout.</summary>
    public sealed override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var layout = (TLayout)ctx.get_data("layout");
        var (needX, needWeight, needBias) = ((bool, bool, bool))ctx.get_data("needs");
        Tensor? gradX = null, gradWeight = null, gradBias = null;
        using (var scope = NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            var grads = ComputeGradients(grad_output, saved[0], saved[1], layout, needX, needWeight, needBias);
            gradX = grads.X?.MoveToOuterDisposeScope();
            gradWeight = grads.Weight?.MoveToOuterDisposeScope();
            gradBias = grads.Bias?.MoveToOuterDisposeScope();
        }

        return new List<Tensor> { gradX!, gradWeight!, gradBias!, null! };
    }

    /// <summary>The convolution of <paramref name="x"/> as the layout says (inside a dispose scope).</summary>
    protected abstract Tensor Compute(Tensor x, Tensor weight, Tensor? bias, TLayout layout);

    /// <summary>The gradients asked for, from the output gradient and the saved input and weight (inside a dispose scope).</summary>
    protected abstract Gradients ComputeGradients(Tensor gradOutput, Tensor x, Tensor weight, TLayout layout, bool needX, bool needWeight, bool needBias);

    /// <summary>Gradients of the input, the weight and the bias; null where not asked for.</summary>
    internal readonly record struct Gradients(Tensor? X, Tensor? Weight, Tensor? Bias);
}
