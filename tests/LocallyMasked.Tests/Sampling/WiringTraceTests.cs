using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Sampling;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Sampling;

/// <summary>
/// The cached sampler prepares its per-pixel evaluation from the trace of the model's one wiring: the trace must list the
/// layers the paper's network has, in their roles, with the up pass's outputs feeding the skip connections; and the CPU
/// evaluator's buffer layout, planned from the trace, must never overwrite a value that a later call still reads.
/// </summary>
public class WiringTraceTests
{
    private static LocallyMaskedPixelCnn Model(int blocks, FeatureNormalization normalization = FeatureNormalization.Pono)
    {
        manual_seed(1);
        var model = new LocallyMaskedPixelCnn(new PixelCnnConfig
        {
            ImageChannels = 1,
            Height = 6,
            Width = 5,
            Filters = 4,
            ResidualBlocks = blocks,
            MaxDilation = 2,
            Likelihood = LikelihoodKind.Binary,
            Normalization = normalization,
        }, dtype: ScalarType.Float64);
        model.eval();
        return model;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_trace_applies_every_convolution_once_in_the_role_the_network_gives_it(int blocks)
    {
        using var scope = NewDisposeScope();
        var model = Model(blocks);
        var trace = WiringTrace.Of(model);

        // The network as the paper draws it: u_init, then per up stage its blocks and (but the last) a dilated downsize;
        // per down stage its blocks and (but the last) a dilated upsize.
        var expected = new List<(object, MaskRole)> { (model.InitialConvolution, MaskRole.First) };
        for (int stage = 0; stage < LocallyMaskedPixelCnn.StageCount; stage++)
        {
            foreach (var block in model.UpStages[stage].Blocks)
                expected.AddRange(new (object, MaskRole)[] { (block.InputConvolution, MaskRole.Undilated), (block.OutputConvolution, MaskRole.Undilated) });
            if (stage < LocallyMaskedPixelCnn.StageCount - 1) expected.Add((model.DownsizeConvolutions[stage], MaskRole.Dilated));
        }
        for (int stage = 0; stage < LocallyMaskedPixelCnn.StageCount; stage++)
        {
            foreach (var block in model.DownStages[stage].Blocks)
                expected.AddRange(new (object, MaskRole)[] { (block.InputConvolution, MaskRole.Undilated), (block.OutputConvolution, MaskRole.Undilated) });
            if (stage < LocallyMaskedPixelCnn.StageCount - 1) expected.Add((model.UpsizeConvolutions[stage], MaskRole.Dilated));
        }

        var convolutions = trace.Calls.Where(c => c.Kind == HookKind.Convolve).ToArray();
        convolutions.Select(c => ((object)c.Layer!, c.Role)).Should().Equal(expected);
        convolutions.Should().HaveCount(model.modules().OfType<LocallyMaskedConv2d>().Count());
        convolutions.Select(c => c.Inputs[0] == WiringTrace.NetworkInput).Should().Equal(convolutions.Select((_, i) => i == 0));
        trace.Calls[^1].Kind.Should().Be(HookKind.Output);
        trace.Calls[^1].Layer.Should().BeSameAs(model.OutputLayer);
        trace.Calls[^1].Channels.Should().Be(model.Config.ParameterChannels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void The_skip_connections_take_the_up_pass_outputs_latest_first(int blocks)
    {
        using var scope = NewDisposeScope();
        var model = Model(blocks);
        var calls = WiringTrace.Of(model).Calls;
        var skips = calls.Where(c => c.Kind == HookKind.Skip).ToArray();
        skips.Select(c => (object?)c.Layer).Should().Equal(model.DownStages.SelectMany(s => s.Blocks).Select(b => (object?)b.SkipLayer));

        // The up pass's outputs, in the order it makes them: the normalized first layer, every block's gate, every
        // normalized downsize; all but the last (where the down pass starts) feed a skip connection.
        int firstSkipCall = calls.ToList().FindIndex(c => c.Kind == HookKind.Skip);
        var upOutputs = Enumerable.Range(0, firstSkipCall).Where(k => calls[k].Kind == HookKind.Gate
            || (calls[k].Kind == HookKind.Normalize && calls[calls[k].Inputs[0]] is { Kind: HookKind.Convolve, Role: not MaskRole.Undilated })).ToArray();
        upOutputs.Should().HaveCount(3 * blocks + 3);
        skips.Select(c => c.Inputs[1]).Should().Equal(upOutputs.Take(upOutputs.Length - 1).Reverse());
    }

    [Theory]
    [InlineData(1, FeatureNormalization.Pono)]
    [InlineData(2, FeatureNormalization.Pono)]
    [InlineData(2, FeatureNormalization.OrderRescale)]
    [InlineData(1, FeatureNormalization.WeightNorm)]
    [InlineData(2, FeatureNormalization.None)]
    public void The_cpu_layout_overwrites_no_value_a_later_call_reads(int blocks, FeatureNormalization normalization)
    {
        using var scope = NewDisposeScope();
        var trace = WiringTrace.Of(Model(blocks, normalization));
        var calls = trace.Calls;
        var layout = CpuLayout.Of(trace);
        var plan = layout.Plan;

        // Replays a step: which value each memory holds after each call, with the evaluator's rules (products make new
        // tensors, dropout and identity normalizations are their input, a deferred concat_elu has no memory).
        bool Identity(int k) => calls[k].Kind == HookKind.Dropout || (calls[k].Kind == HookKind.Normalize && !CpuLayout.Normalizes(calls[k].Normalization));
        int Origin(int k) => k >= 0 && Identity(k) ? Origin(calls[k].Inputs[0]) : k;
        var memory = new int[calls.Count];
        var holds = new Dictionary<int, int>();
        const int NoMemory = int.MinValue, Clobbered = -99;
        void Intact(int value, int reader)
        {
            if (value < 0 || memory[value] == NoMemory) return;
            holds[memory[value]].Should().Be(Origin(value), $"call {reader} ({calls[reader].Kind}) reads the value of call {value}");
        }

        for (int k = 0; k < calls.Count; k++)
        {
            var call = calls[k];
            foreach (int input in call.Inputs) Intact(input, k);
            if (layout.Fused[k] >= 0) Intact(calls[layout.Fused[k]].Inputs[0], k);
            // A group of skip connections reads every skip input made so far at its first skip.
            if (call.Kind == HookKind.Skip)
                foreach (var later in calls.Skip(k).Where(c => c.Kind == HookKind.Skip && c.Inputs[1] < k)) Intact(later.Inputs[1], k);

            memory[k] = Identity(k) ? (call.Inputs[0] < 0 ? NoMemory : memory[call.Inputs[0]])
                : layout.Deferred[k] ? NoMemory
                : plan.InPlace[k] ? memory[call.Inputs[0]]
                : plan.BufferOf[k] >= 0 ? plan.BufferOf[k]
                : 1000 + k;
            if (call.Kind == HookKind.Gate && plan.Overwritable(k, 1)) holds[memory[call.Inputs[1]]] = Clobbered;
            if (call.Kind == HookKind.Output && plan.Overwritable(k, 0)) holds[memory[call.Inputs[0]]] = Clobbered;
            if (!Identity(k) && memory[k] != NoMemory) holds[memory[k]] = k;
        }

        // Only convolutions read concat_elu here, so each is written straight into their caches. The down pass works in
        // place (nothing reads a block's input after its gate, nor the normalized features after the skip is added); the
        // up pass's gates keep their inputs, which are skip inputs, and write into buffers.
        calls.Where(c => c.Kind == HookKind.ConcatElu).Should().HaveCount(layout.Deferred.Count(d => d));
        int firstSkipCall = calls.ToList().FindIndex(c => c.Kind == HookKind.Skip);
        var gates = Enumerable.Range(0, calls.Count).Where(k => calls[k].Kind == HookKind.Gate).ToArray();
        gates.Select(k => plan.InPlace[k]).Should().Equal(gates.Select(k => k > firstSkipCall));
        gates.Where(k => k < firstSkipCall).Should().OnlyContain(k => plan.BufferOf[k] >= 0);
        Enumerable.Range(0, calls.Count).Where(k => calls[k].Kind == HookKind.Skip).Should().OnlyContain(k => plan.InPlace[k]);
    }
}
