using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// One stage of the up pass: a chain of gated residual blocks without skip inputs (state-dict keys
/// <c>u_stream.{i}.*</c>). Every block's output is kept, because the down pass consumes them as skips.
/// </summary>
internal sealed class UpPassStage : nn.Module<Tensor, Tensor, IReadOnlyList<Tensor>>
{
    [ComponentName(Name = "u_stream")]
    private readonly ModuleList<GatedResidualBlock> _blocks;

    /// <summary>Creates the stage from its blocks (each without a skip input).</summary>
    /// <param name="blocks">The blocks, applied in order.</param>
    public UpPassStage(IEnumerable<GatedResidualBlock> blocks) : base(nameof(UpPassStage))
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var list = blocks.ToArray();
        if (list.Length == 0) throw new ArgumentException("Expected at least one block.", nameof(blocks));
        if (list.Any(b => b is null || b.HasSkipInput))
            throw new ArgumentException("Up-pass blocks must be non-null and have no skip input.", nameof(blocks));
        _blocks = new ModuleList<GatedResidualBlock>(list);
        RegisterComponents();
    }

    /// <summary>The blocks in application order.</summary>
    public IReadOnlyList<GatedResidualBlock> Blocks => _blocks.ToArray();

    /// <summary>Applies the blocks in turn.</summary>
    /// <param name="u">Input (N, F, H, W).</param>
    /// <param name="mask">Type-B mask, shared (k*k, H*W) or per sample (N, k*k, H*W).</param>
    /// <returns>The output of every block, in order (the last one is the stage output).</returns>
    public override IReadOnlyList<Tensor> forward(Tensor u, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(mask);
        return Evaluate(u, new FeatureMapLayers(mask, mask, mask));
    }

    /// <summary>The stage's wiring, evaluated by <paramref name="layers"/>: every block's output, in order.</summary>
    /// <param name="u">Input (N, F[, H, W]).</param>
    /// <param name="layers">Where the stage is evaluated (feature maps or single pixels).</param>
    internal IReadOnlyList<Tensor> Evaluate(Tensor u, ILayerEvaluator layers)
    {
        var outputs = new List<Tensor>(_blocks.Count);
        foreach (var block in _blocks)
        {
            u = block.Evaluate(u, null, layers);
            outputs.Add(u);
        }
        return outputs;
    }
}
