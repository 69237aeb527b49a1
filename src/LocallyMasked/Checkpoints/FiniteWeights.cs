using System.Globalization;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The check that loaded weights are finite: a NaN or an infinity in a weight makes every likelihood and sample NaN,
/// so a file holding one is refused (unless <see cref="ModelLoadOptions.AllowNonFiniteWeights"/>) with the tensors named.
/// One pass over each floating-point tensor, on its device.
/// </summary>
internal static class FiniteWeights
{
    private const int MaxNamed = 5;

    /// <summary>Refuses tensors holding NaN or infinite values.</summary>
    /// <param name="tensors">The weights by state-dict key.</param>
    /// <param name="source">The file, for the message.</param>
    /// <exception cref="CheckpointException">A tensor holds a value that is not finite; the message names every such tensor (the first few) and counts its values.</exception>
    public static void Check(IEnumerable<KeyValuePair<string, Tensor>> tensors, string source)
    {
        var found = new List<string>();
        int tensorsFound = 0;
        long valuesFound = 0;
        foreach (var (key, tensor) in tensors)
        {
            if (!tensor.is_floating_point() && !tensor.is_complex()) continue;
            using var scope = NewDisposeScope();
            var finite = tensor.detach().isfinite();
            if (finite.all().item<bool>()) continue;
            long count = tensor.numel() - finite.sum().item<long>();
            tensorsFound++;
            valuesFound += count;
            if (found.Count < MaxNamed)
                found.Add(string.Create(CultureInfo.InvariantCulture, $"'{key}' ({count:N0} of {tensor.numel():N0} values)"));
        }
        if (tensorsFound == 0) return;
        string more = tensorsFound > found.Count ? $" and {tensorsFound - found.Count} more tensors" : string.Empty;
        throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
            $"{source} holds {valuesFound:N0} {(valuesFound == 1 ? "weight that is" : "weights that are")} NaN or infinite, in {string.Join(", ", found)}{more}: the model would give NaN likelihoods and samples. Set ModelLoadOptions.AllowNonFiniteWeights to load it anyway."));
    }
}
