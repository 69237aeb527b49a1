using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// One stage of the down pass: a chain of gated residual blocks with skip inputs (state-dict keys
/// <c>u_stream.{i}.*</c>). Each block takes as skip the most recent entry of the up pass's output list.
/// </summary>
internal sealed class DownPassStage : nn.Module<Tensor, List<Tensor>, Tensor, Tensor>
{
    [ComponentName(Name = "u_stream")]
    private readonly ModuleList<GatedResidualBlock> _blocks;

    /// <summary>Creates the stage from its blocks (each with a skip input).</summary>
    /// <param name="blocks">The blocks, applied in order.</param>
    public DownPassStage(IEnumerable<GatedResidualBlock> blocks) : base(nameof(DownPassStage))
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var list = blocks.ToArray();
        if (list.Length == 0) throw new ArgumentException("Expected at least one block.", nameof(blocks));
        if (list.Any(b => b is null || !b.HasSkipInput))
            throw new ArgumentException("Down-pass blocks must be non-null and have a skip input.", nameof(blocks));
        _blocks = new ModuleList<GatedResidualBlock>(list);
        RegisterComponents();
    }

    /// <summary>The blocks in application order.</summary>
    public IReadOnlyList<GatedResidualBlock> Blocks => _blocks.ToArray();

    /// <summary>Applies the blocks in turn, each popping its skip input from the end of <paramref name="skips"/>.</summary>
    /// <param name="u">Input (N, F, H, W).</param>
    /// <param name="skips">The up pass's outputs; one entry per block is removed from its end.</param>
    /// <param name="mask">Type-B mask, shared (k*k, H*W) or per sample (N, k*k, H*W).</param>
    /// <returns>The last block's output.</returns>
    public override Tensor forward(Tensor u, List<Tensor> skips, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(skips);
        ArgumentNullException.ThrowIfNull(mask);
        return Evaluate(u, skips, new FeatureMapLayers(mask, mask, mask));
    }

    /// <summary>The stage's wiring, evaluated by <paramref name="layers"/>; pops one skip input per block from <paramref name="skips"/>.</summary>
    /// <param name="u">Input (N, F[, H, W]).</param>
    /// <param name="skips">The up pass's outputs; one entry per block is removed from its end.</param>
    /// <param name="layers">Where the stage is evaluated (feature maps or single pixels).</param>
    internal Tensor Evaluate(Tensor u, List<Tensor> skips, ILayerEvaluator layers)
    {
        if (skips.Count < _blocks.Count)
            throw new ArgumentException($"Expected at least {_blocks.Count} skip inputs, got {skips.Count}.", nameof(skips));
        foreach (var block in _blocks)
        {
            var skip = skips[^1];
            skips.RemoveAt(skips.Count - 1);
            u = block.Evaluate(u, skip, layers);
        }
        return u;
    }
}
