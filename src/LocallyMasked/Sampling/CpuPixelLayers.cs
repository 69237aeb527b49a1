using System.Numerics;
using System.Runtime.InteropServices;
using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The per-pixel evaluator on the CPU for float32 and float64: the products are torch matrix products (MKL), every other
/// hook is a loop over the tensors' memory (<see cref="CpuKernels"/>), writing where the call's <see cref="BufferPlan"/>
/// says: buffers made once per sampling call, or over an input that no later call reads. Neighbourhood rows are copied
/// into one preallocated patch buffer; a convolution's bias (with the per-step mask terms) is added by a loop rather than
/// by the product.
/// </summary>
/// <typeparam name="T">float or double: the model's dtype.</typeparam>
internal sealed class CpuPixelLayers<T> : PixelLayers
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Tensor _patch;
    private readonly Dictionary<long, Tensor> _patchViews = new();
    private readonly BufferPlan _plan;
    private readonly Tensor[] _buffers;
    private readonly Tensor? _activated;
    private readonly IReadOnlyList<int> _fused;
    private readonly IReadOnlyList<bool> _deferred;
    private readonly Tensor _placeholder;
    private readonly Dictionary<SkipGroup, (Tensor Features, long[] Rows, int Inputs, int Outputs)> _skipFeatures = new(ReferenceEqualityComparer.Instance);
    private readonly T[] _scratch;
    private readonly double[] _values;
    private readonly double[] _parameters;
    private double[]? _uniforms;

    public CpuPixelLayers(LocallyMaskedPixelCnn model, StepTables tables, ComputePrecision precision) : base(model, tables, precision)
    {
        var config = model.Config;
        var dtype = model.DType;
        // One patch buffer for every convolution, with a view per patch width a step uses.
        var convolutions = Trace.Calls.Where(c => c.Kind == HookKind.Convolve).Select(c => Prepared((LocallyMaskedConv2d)c.Layer!)).ToArray();
        long largest = convolutions.Max(c => (long)c.Channels * config.KernelSize * config.KernelSize);
        _patch = empty(Batch * largest, dtype);
        foreach (var conv in convolutions)
        {
            foreach (var (_, length) in tables.Ranges[conv.Role].Where(r => r.Length > 0).Distinct())
            {
                long width = (long)length * conv.Channels;
                if (!_patchViews.ContainsKey(width)) _patchViews[width] = _patch.narrow(0, 0, Batch * width).view(Batch, width);
            }
        }

        var calls = Trace.Calls;
        var layout = CpuLayout.Of(Trace);
        _plan = layout.Plan;
        _fused = layout.Fused;
        _deferred = layout.Deferred;
        _buffers = _plan.Widths.Select(width => empty(Batch, width, dtype)).ToArray();
        int output = calls.Count - 1;
        if (!_plan.Overwritable(output, 0)) _activated = empty(Batch, ((NetworkInNetwork)calls[output].Layer!).InChannels, dtype);
        _scratch = new T[calls.Where(c => c.Kind == HookKind.Gate).Select(c => 2 * c.Channels).DefaultIfEmpty(0).Max()];
        _placeholder = empty(0, dtype);
        foreach (var group in SkipGroups)
        {
            var shape = group.Weights.shape;
            var rows = Enumerable.Range(0, (int)(shape[0] * Batch)).Select(r => (long)r).ToArray();
            _skipFeatures[group] = (empty(new long[] { shape[0], Batch, shape[1] }, dtype), rows, (int)shape[1] / 2, (int)shape[2]);
        }
        _values = new double[Batch * config.ImageChannels];
        _parameters = new double[Batch * config.ParameterChannels];
    }

    /// <summary>The draws on the host (<see cref="PixelLikelihood.SampleRows"/>, float64), written straight into the cache rows.</summary>
    public override void DrawPixels(int step, Tensor parameters, Tensor uniforms, double temperature, PixelLikelihood likelihood, ref long mark)
    {
        int n = (int)Batch, channels = likelihood.ImageChannels, sampled = Tables.SampledCount[step];
        if (sampled > 0)
        {
            var drawn = Parameters(parameters, likelihood.ParameterChannels);
            _uniforms ??= Host(uniforms);
            int perStep = n * likelihood.UniformsPerPixel;
            likelihood.SampleRows(drawn, _uniforms.AsSpan(step * perStep, perStep), temperature, _values.AsSpan(0, n * channels));
        }
        Profile?.Lap(StepPhase.Sample, ref mark, 0);
        var images = Data(Images);
        var observed = sampled < n ? Data(Tables.Observed[step]!) : default;
        var rows = WriteRows();
        for (int i = 0; i < n; i++)
        {
            var target = images.Slice(checked((int)(rows[i] * channels)), channels);
            if (Tables.HostSampled[step * n + i])
            {
                for (int c = 0; c < channels; c++) target[c] = T.CreateTruncating(_values[i * channels + c]);
            }
            else
            {
                observed.Slice(i * channels, channels).CopyTo(target);
            }
        }
        Profile?.Lap(StepPhase.Write, ref mark, 0);
    }

    public override Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        int call = Next(HookKind.Convolve, conv);
        var prepared = Prepared(conv);
        if (_fused[call] is int deferred and >= 0)
        {
            // concat_elu of the value the deferred call was given, written straight into the cache rows.
            var source = ValueOf(Trace.Calls[deferred].Inputs[0]);
            CpuKernels.ConcatEluRows<T>(Data(source), prepared.Channels / 2, Data(prepared.Cache), WriteRows());
            Lap(StepPhase.Write, 0);
        }
        else if (!prepared.ReadsNetworkInput)
        {
            // (The first layer's input, the pixel, is written after sampling: its type-A mask hides the centre.)
            CpuKernels.CopyRows<T>(Data(input), prepared.Channels, Data(prepared.Cache), WriteRows());
            Lap(StepPhase.Write, 0);
        }
        var (start, length) = Tables.Ranges[prepared.Role][Step];
        Tensor output;
        if (length == 0)
        {
            // Every tap hidden (the first layer at the first pixel): the bias alone.
            output = zeros(Batch, conv.OutChannels, Model.DType);
        }
        else
        {
            var (rows, offsets) = Tables.HostGatherRows[prepared.Role];
            var patch = _patchViews[(long)length * prepared.Channels];
            CpuKernels.GatherRows<T>(Data(prepared.Cache), prepared.Channels, rows.AsSpan((int)offsets[Step], (int)(offsets[Step + 1] - offsets[Step])), Data(patch));
            Lap(StepPhase.Gather, 0);
            output = Product(patch, prepared.Rows(start, length));
            Lap(StepPhase.Product, 1);
        }
        CpuKernels.AddRows(Data(output), conv.OutChannels, Bias(prepared));
        Lap(StepPhase.Elementwise, 0);
        return Produced(call, output);
    }

    public override Tensor ConcatElu(Tensor input)
    {
        int call = Next(HookKind.ConcatElu);
        // Computed by the convolutions that read it (a tensor of no elements stands for it).
        if (_deferred[call]) return Produced(call, _placeholder);
        var output = Target(call, input);
        CpuKernels.ConcatElu<T>(Data(input), (int)Trace.Calls[call].Channels / 2, Data(output));
        Lap(StepPhase.Elementwise, 0);
        return Produced(call, output);
    }

    public override Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role)
    {
        int call = Next(HookKind.Normalize);
        if (!CpuLayout.Normalizes(normalization)) return Produced(call, input);
        var output = Target(call, input);
        var features = Data(output);
        if (!ReferenceEquals(output, input)) Data(input).CopyTo(features);
        CpuKernels.Normalize(features, (int)Trace.Calls[call].Channels, normalization == FeatureNormalization.Pono,
            Counts(normalization, role), PositionalNormalization.Epsilon);
        Lap(StepPhase.Elementwise, 0);
        return Produced(call, output);
    }

    public override Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role)
    {
        int call = Next(HookKind.Gate);
        var output = Target(call, u);
        CpuKernels.Gate(Data(u), Data(gate), Data(output), (int)Trace.Calls[call].Channels, normalization == FeatureNormalization.Pono,
            Counts(normalization, role), PositionalNormalization.Epsilon, _plan.Overwritable(call, 1) ? default : _scratch);
        Lap(StepPhase.Elementwise, 0);
        return Produced(call, output);
    }

    public override Tensor Output(NetworkInNetwork layer, Tensor u)
    {
        int call = Next(HookKind.Output, layer);
        var activated = _activated ?? u;
        var features = Data(activated);
        if (!ReferenceEquals(activated, u)) Data(u).CopyTo(features);
        CpuKernels.Elu(features);
        Lap(StepPhase.Elementwise, 0);
        var parameters = Product(OutputBias, activated, OutputWeight);
        Lap(StepPhase.Product, 1);
        return Produced(call, parameters);
    }

    private protected override void ComputeSkips(SkipGroup group, Tensor[] inputs)
    {
        var (buffer, featureRows, inputChannels, channels) = _skipFeatures[group];
        var features = Data(buffer);
        int rows = (int)Batch;
        for (int j = 0; j < inputs.Length; j++)
            CpuKernels.ConcatEluRows<T>(Data(inputs[j]), inputChannels, features, featureRows.AsSpan(j * rows, rows));
        Lap(StepPhase.Elementwise, 0);
        group.Outputs = BatchedProduct(buffer, group.Weights);
        Lap(StepPhase.Product, 1);
        var skips = Data(group.Outputs);
        var bias = Data(group.Bias);
        for (int j = 0; j < inputs.Length; j++)
            for (int i = 0; i < rows; i++)
                CpuKernels.Add<T>(skips.Slice((j * rows + i) * channels, channels), bias.Slice(j * channels, channels));
        Lap(StepPhase.Elementwise, 0);
    }

    private protected override Tensor AddSkip(int call, Tensor t, SkipGroup group, int position)
    {
        var output = Target(call, t);
        var features = Data(output);
        if (!ReferenceEquals(output, t)) Data(t).CopyTo(features);
        CpuKernels.Add<T>(features, Data(group.Outputs).Slice(position * features.Length, features.Length));
        Lap(StepPhase.Elementwise, 0);
        return output;
    }

    /// <summary>Where call <paramref name="call"/> writes its result: over <paramref name="input"/> or into its buffer.</summary>
    private Tensor Target(int call, Tensor input) => _plan.InPlace[call] ? input : _buffers[_plan.BufferOf[call]];

    private BiasRows<T> Bias(PixelConvolution conv)
    {
        if (conv.Terms is { } terms)
        {
            return new BiasRows<T>(Data(terms.All), (int)terms.Width, (int)terms.Offset(conv), !Tables.Shared);
        }
        return conv.Bias is { } bias ? new BiasRows<T>(Data(bias), 0, 0, false) : default;
    }

    private ReadOnlySpan<double> Counts(FeatureNormalization normalization, MaskRole role)
    {
        if (normalization != FeatureNormalization.OrderRescale) return default;
        var counts = Tables.HostVisibleTaps[role];
        int perStep = counts.Length / Tables.Steps;
        return counts.AsSpan(Step * perStep, perStep);
    }

    private ReadOnlySpan<long> WriteRows() => Tables.HostWriteRows.AsSpan(Step * (int)Batch, (int)Batch);

    /// <summary>The distribution parameters (N, M) as float64 on the host.</summary>
    private ReadOnlySpan<double> Parameters(Tensor parameters, int channels)
    {
        var values = Data(parameters);
        if (typeof(T) == typeof(double)) return MemoryMarshal.Cast<T, double>(values);
        var converted = _parameters.AsSpan(0, (int)Batch * channels);
        for (int i = 0; i < converted.Length; i++) converted[i] = double.CreateTruncating(values[i]);
        return converted;
    }

    /// <summary>All steps' uniforms (steps, N, U) as float64 on the host, read once per call.</summary>
    private static double[] Host(Tensor uniforms)
    {
        using var wide = uniforms.to(ScalarType.Float64);
        return wide.data<double>().ToArray();
    }

    /// <summary>A contiguous CPU tensor's elements.</summary>
    private static Span<T> Data(Tensor tensor) => MemoryMarshal.Cast<byte, T>(tensor.bytes);
}
