using TorchSharp;

namespace LocallyMasked.Numerics;

/// <summary>
/// TorchSharp <see cref="Scalar"/> constants that live as long as the process. TorchSharp 0.107 passes only a Scalar's native
/// handle to libtorch, and a Scalar has a finalizer: a temporary one (what C#'s implicit number-to-Scalar conversion makes)
/// can be freed by a collection on another thread while libtorch still reads it. These never become unreachable, so they
/// are safe to pass from any thread, at any time (docs/architecture.md, "Scalars and native calls").
/// </summary>
public static class Scalars
{
    /// <summary>The integer 1: the <c>alpha</c> of an addition, valid for tensors of every dtype.</summary>
    public static Scalar One { get; } = 1L.ToScalar();

    /// <summary>The integer 0.</summary>
    public static Scalar Zero { get; } = 0L.ToScalar();

    /// <summary>The integer -1: the <c>alpha</c> of a subtraction.</summary>
    public static Scalar MinusOne { get; } = (-1L).ToScalar();

    /// <summary>The integer 2 (squares: <c>pow(Two)</c> is what TorchSharp's <c>square()</c> computes).</summary>
    public static Scalar Two { get; } = 2L.ToScalar();
}
