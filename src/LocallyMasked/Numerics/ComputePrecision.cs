using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Numerics;

/// <summary>
/// The precision the products of a network evaluation compute in: every convolution and matrix product of the network
/// (the locally masked convolutions on every path, the baseline's shifted convolutions, the 1x1 layers, the cached
/// sampler's products). An immutable value, passed with the evaluation (never a process-wide switch):
/// <see cref="Float32"/> (the default) multiplies in the parameters' own dtype, exactly as before;
/// <see cref="BFloat16Mixed"/> casts each product's operands (activations and weights) to bfloat16, multiplies (libtorch
/// accumulates bf16 products in float32 and rounds the result to bf16) and returns float32, with the bias added in
/// float32. Everything else stays float32: the master weights and their gradients (autograd differentiates through the
/// casts), the optimizer's state, the weight average, normalization statistics, the likelihood heads and the loss.
/// </summary>
/// <remarks>
/// Names follow PyTorch Lightning's <c>precision=</c> values ("32", "bf16-mixed"). bf16 keeps float32's exponent range,
/// so no loss scaling is needed; fp16 with loss scaling is not offered (it would add a scaler to the trainer's state
/// for no gain over bf16 on the hardware that has bf16 units: GPUs since Ampere, CPUs with AVX-512 BF16 or AMX).
/// On a CPU without bf16 units libtorch emulates bf16 and runs slower than float32: <see cref="BFloat16Support"/> tells.
/// </remarks>
[JsonConverter(typeof(ComputePrecisionJsonConverter))]
public sealed record ComputePrecision
{
    private ComputePrecision(string name, ScalarType? productType)
    {
        Name = name;
        ProductType = productType;
    }

    /// <summary>"32": products in the parameters' dtype (float32 for float32 models; a float64 model stays float64). The default.</summary>
    public static ComputePrecision Float32 { get; } = new("32", null);

    /// <summary>"bf16-mixed": products in bfloat16 with float32 master weights (for float32 models only).</summary>
    public static ComputePrecision BFloat16Mixed { get; } = new("bf16-mixed", ScalarType.BFloat16);

    /// <summary>Every precision, default first.</summary>
    public static IReadOnlyList<ComputePrecision> All { get; } = new[] { Float32, BFloat16Mixed };

    /// <summary>The name (<c>--precision</c>'s value, and what checkpoints record).</summary>
    public string Name { get; }

    /// <summary>The dtype the products' operands are cast to, or null when they compute in the parameters' dtype.</summary>
    public ScalarType? ProductType { get; }

    /// <summary>Whether products compute in another dtype than the parameters'.</summary>
    public bool IsMixed => ProductType is not null;

    /// <summary>The precision of a name (<see cref="Name"/>).</summary>
    /// <param name="name">"32" or "bf16-mixed".</param>
    /// <exception cref="ArgumentException">No precision has that name (the message lists the names).</exception>
    public static ComputePrecision Parse(string name) =>
        TryParse(name, out var precision)
            ? precision
            : throw new ArgumentException($"Expected a compute precision of {Names}, got '{name}'.", nameof(name));

    /// <summary>The precision of a name, if one has it.</summary>
    /// <param name="name">A name.</param>
    /// <param name="precision">The precision, or null.</param>
    public static bool TryParse(string? name, [NotNullWhen(true)] out ComputePrecision? precision)
    {
        precision = All.FirstOrDefault(p => p.Name == name);
        return precision is not null;
    }

    /// <summary>The names, quoted and joined for messages.</summary>
    public static string Names => string.Join(" or ", All.Select(p => $"'{p.Name}'"));

    /// <summary>Checks that parameters of <paramref name="dtype"/> can be evaluated in this precision: mixed precision keeps
    /// float32 master weights, so it needs float32 parameters.</summary>
    /// <param name="dtype">The parameters' dtype.</param>
    /// <param name="argumentName">The argument the precision came with.</param>
    /// <exception cref="ArgumentException">A mixed precision with parameters that are not float32.</exception>
    public void CheckParameters(ScalarType dtype, string argumentName)
    {
        if (IsMixed && dtype != ScalarType.Float32)
            throw new ArgumentException(
                $"The {Name} precision computes products in {ProductType} with float32 master weights; the parameters are {dtype}: " +
                $"use float32 parameters, or precision '{Float32.Name}'.", argumentName);
    }

    /// <summary>The name.</summary>
    public override string ToString() => Name;

    /// <summary>A product's operand in this precision: cast to <see cref="ProductType"/> when mixed (differentiable), else itself.</summary>
    internal Tensor Operand(Tensor t) => ProductType is { } type && t.dtype != type ? t.to(type) : t.alias();

    /// <summary>
    /// A product computed with <see cref="Operand"/>s, returned in <paramref name="dtype"/> (the parameters'), with
    /// <paramref name="bias"/> (already shaped to broadcast) added in that dtype; without a bias a plain cast.
    /// </summary>
    internal static Tensor Result(Tensor product, ScalarType dtype, Tensor? bias = null)
    {
        if (bias is not null)
            // Type promotion: a bf16 tensor plus a float32 tensor is float32, in one pass.
            return product.Plus(bias);
        return product.dtype == dtype ? product.alias() : product.to(dtype);
    }
}
