using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Reading and writing the library's models (<see cref="LocallyMaskedPixelCnn"/> and the PixelCNN++ baseline
/// <see cref="PixelCnnPlusPlus"/>, both through <see cref="IAutoregressiveImageModel"/>): <see cref="LoadModel"/> reads any of the formats
/// (<see cref="CheckpointFormat"/>: this library's training checkpoints, the authors' PyTorch <c>.pth</c> files — a full
/// checkpoint dict with the weights under <c>model_state_dict</c>, or a bare state dict, with or without the
/// data-parallel <c>module.</c> prefix — and TorchSharp's own format). Loading checks every key and shape first and
/// reports all mismatches at once; loaded parameters stay trainable. Saving is atomic: a temporary file is written and
/// then renamed over the target.
/// </summary>
public static class PixelCnnCheckpoint
{
    /// <summary>The entry of a full PyTorch checkpoint that holds the model weights.</summary>
    public const string ModelStateDictKey = "model_state_dict";

    /// <summary>The entry of the reference code's checkpoints that holds the moving average of the weights.</summary>
    public const string EmaStateDictKey = "ema_state_dict";

    /// <summary>The entry of the reference code's checkpoints that holds its command-line arguments.</summary>
    public const string ArgumentsKey = "args";

    /// <summary>The key prefix added by PyTorch's DataParallel wrapper.</summary>
    public const string DataParallelPrefix = StateDictFit.DataParallelPrefix;

    /// <summary>Whether a file is a PyTorch checkpoint (zip format, or the legacy pre-1.6 format of the published files).</summary>
    /// <param name="path">The file.</param>
    /// <returns>True for a file written by <c>torch.save</c>, false otherwise (e.g. TorchSharp's format).</returns>
    public static bool IsPyTorchFile(string path) => PyTorchFiles.IsPyTorchFile(path);

    /// <summary>
    /// Reads the model weights of a PyTorch file: the <c>model_state_dict</c> entry of a full checkpoint, or the
    /// file itself when it is a bare state dict; a leading <c>module.</c> is removed from every key. Both the zip
    /// format and the legacy format of torch &lt; 1.6, in which the published checkpoints were written, are read by the
    /// library's own bounded pickle reader (nothing in the file is run); other entries (optimizer state, arguments, numpy
    /// scalars) are not walked and their tensors' data is not read. Views are read with their offsets and strides. The
    /// tensors are contiguous, on the CPU in the file's dtype, and belong to the caller. Weights are returned as they are
    /// (NaN included: the loaders check them).
    /// </summary>
    /// <param name="path">A file written by <c>torch.save</c>.</param>
    /// <param name="limits">The limits of the reading (pickle size and depth, inflated tensors); <see cref="CheckpointLimits.Default"/> when null.</param>
    /// <exception cref="CheckpointException">The file is unreadable, truncated, beyond a limit or holds no state dict.</exception>
    public static Dictionary<string, Tensor> ReadPyTorchStateDict(string path, CheckpointLimits? limits = null) =>
        PyTorchFiles.Read(path, movingAverage: false, limits).Weights;

    /// <summary>Reads a state dict written in TorchSharp's format (<see cref="Save"/> or <c>Module.save</c>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="CheckpointException">The file is truncated or not in TorchSharp's format.</exception>
    public static Dictionary<string, Tensor> ReadTorchSharpStateDict(string path) => TorchSharpFiles.Read(path);

    /// <summary>Reads the model weights of either format (detected from the file's first bytes).</summary>
    /// <param name="path">A PyTorch or TorchSharp checkpoint.</param>
    public static Dictionary<string, Tensor> ReadStateDict(string path) =>
        IsPyTorchFile(path) ? ReadPyTorchStateDict(path) : ReadTorchSharpStateDict(path);

    /// <summary>
    /// Loads weights of either format into an existing model (converted to its dtype and device). Every key
    /// and shape is checked, and every weight checked to be finite, before anything is copied.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="path">A PyTorch or TorchSharp checkpoint.</param>
    /// <param name="allowNonFiniteWeights">Load weights that hold NaN or infinite values (refused by default).</param>
    /// <exception cref="CheckpointException">The file is unreadable, keys are missing, unexpected or mis-shaped (all listed),
    /// or a weight is not finite (each such tensor named).</exception>
    public static void Load(IAutoregressiveImageModel model, string path, bool allowNonFiniteWeights = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var weights = ReadStateDict(path);
        if (!allowNonFiniteWeights) FiniteWeights.Check(weights, $"'{path}'");
        LoadStateDict(model, weights, $"'{path}'");
    }

    /// <summary>The kind of file <paramref name="path"/> is, from its first bytes.</summary>
    /// <param name="path">An existing file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CheckpointFormat DetectFormat(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        if (TrainingCheckpointFile.IsTrainingCheckpoint(path)) return CheckpointFormat.Training;
        return IsPyTorchFile(path) ? CheckpointFormat.PyTorch : CheckpointFormat.TorchSharp;
    }

    /// <summary>
    /// Loads a model from a file of any <see cref="CheckpointFormat"/>, detected from its first bytes, with exactly the
    /// configuration it was trained with wherever the file records it. The file decides which model is built: a
    /// <see cref="LocallyMaskedPixelCnn"/>, or the PixelCNN++ baseline <see cref="PixelCnnPlusPlus"/> (a training checkpoint
    /// of one; a file of the reference code whose <c>args['ours']</c> is false; or weights with the baseline's keys
    /// <c>ul_init.*</c>, <c>upsize_ul_stream.*</c>, as pclucas14/pixel-cnn-pp's):
    /// <list type="bullet">
    /// <item>a training checkpoint records its model type (a <see cref="ModelCatalog"/> entry), configuration and orders;</item>
    /// <item>a checkpoint of the reference code's <c>main.py</c> records its <c>args</c>: normalization, learned mask
    /// weight, bias, kernel size, dilation, filters, blocks, mixtures, bits, binarization, data set and orders, which must
    /// agree with the tensor shapes (else a <see cref="CheckpointException"/> lists every disagreement); for the baseline the
    /// data set (image size), bits, filters, blocks, mixtures and binarization;</item>
    /// <item>for other weight files the shapes decide filters, blocks, channels, kernel, likelihood head, mixtures, weight
    /// normalization, bias and mask weight; the image size and bits come from <see cref="ModelLoadOptions.Template"/>; the
    /// normalization (none, PONO and order rescaling store the same tensors) and the dilation take the published models'
    /// values (PONO, 2) and are listed in <see cref="LoadedModel.Notes"/> as assumed (a baseline has neither).</item>
    /// </list>
    /// <see cref="ModelLoadOptions.Normalization"/>, <see cref="ModelLoadOptions.MaxDilation"/> and
    /// <see cref="ModelLoadOptions.ImageSize"/> win over the file and are listed as overrides; the first two do not
    /// apply to a baseline (an error). Nothing is half-loaded: every check runs before the model exists. A baseline's
    /// <see cref="LoadedModel.Orders"/> is its raster order. Every file is read within <see cref="ModelLoadOptions.Limits"/>,
    /// and weights that are NaN or infinite are refused unless <see cref="ModelLoadOptions.AllowNonFiniteWeights"/>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Device, dtype, template, weights and overrides; defaults when null.</param>
    /// <returns>The model in evaluation mode, and what the file records about it.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">A weight file is unreadable, beyond a limit, its arguments are unknown or contradict
    /// its tensors, or its tensors do not fit the model; a file of any format holds weights that are not finite, or implies an
    /// image size beyond <see cref="CheckpointLimits.MaxImagePixels"/>.</exception>
    /// <exception cref="InvalidDataException">A training checkpoint is truncated, corrupt, or records a model type or
    /// configuration this library cannot build.</exception>
    public static LoadedModel LoadModel(string path, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        LoadOverrides.Check(options);
        var format = DetectFormat(path);
        if (format == CheckpointFormat.Training) return TrainingCheckpointModels.Load(path, options);

        using var scope = NewDisposeScope();
        var source = $"'{path}'";
        var contents = format == CheckpointFormat.PyTorch
            ? PyTorchFiles.Read(path, options.MovingAverageWeights, options.Limits)
            : options.MovingAverageWeights
                ? throw new CheckpointException($"{source} holds plain weights in TorchSharp's format: it has no moving average of the weights.")
                : new PyTorchFiles.Contents(TorchSharpFiles.Read(path), null);
        if (!options.AllowNonFiniteWeights) FiniteWeights.Check(contents.Weights, source);
        var arguments = contents.Arguments is { } recorded ? ReferenceArguments.Parse(recorded, source) : null;
        bool baselineKeys = CheckpointConfigInference.IsBaseline(contents.Weights);
        if (arguments?.Ours is { } ours && ours == baselineKeys)
            throw new CheckpointException(ours
                ? $"The args of {source} contradict its tensors: args['ours'] is True (a Locally Masked PixelCNN++) but the tensors are a PixelCNN++ baseline's (ul_init.*, upsize_ul_stream.*)."
                : $"The args of {source} contradict its tensors: args['ours'] is False (a PixelCNN++ baseline of the reference code) but the tensors are a Locally Masked PixelCNN++'s.");
        return baselineKeys
            ? BaselineWeightFiles.Load(path, format, contents, arguments, options)
            : LocallyMaskedWeightFiles.Load(path, format, contents, arguments, options);
    }

    /// <summary>
    /// Averages the weights of several training checkpoints of one model (for example the last few of a run), of either
    /// kind: each parameter and buffer becomes the mean of its values across the files. Uses the trained weights, not the
    /// moving averages; the orders and metadata are the first file's.
    /// </summary>
    /// <param name="paths">One or more training checkpoints with the same model type and configuration.</param>
    /// <param name="options">Device and dtype of the model; defaults when null.</param>
    /// <exception cref="ArgumentException">A file is not a training checkpoint of this library.</exception>
    /// <exception cref="InvalidDataException">The files hold different models, or one is truncated or corrupt.</exception>
    public static LoadedModel LoadAverage(IReadOnlyList<string> paths, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("Expected at least one checkpoint.", nameof(paths));
        options ??= new ModelLoadOptions();
        LoadOverrides.Check(options);
        foreach (var path in paths)
            if (DetectFormat(path) != CheckpointFormat.Training)
                throw new ArgumentException($"{path}: only training checkpoints of this library can be averaged.", nameof(paths));
        return TrainingCheckpointModels.Average(paths, options);
    }

    /// <summary>
    /// Copies a state dict into the model after checking that its keys (after removing a <c>module.</c> prefix)
    /// and shapes match exactly. Values are converted to the model's dtype and device; the model's parameters
    /// keep requires_grad.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="stateDict">Weights by PyTorch name.</param>
    /// <param name="source">Description of the source used in error messages.</param>
    /// <exception cref="CheckpointException">Keys are missing, unexpected or mis-shaped (all listed), or an entry is not floating point.</exception>
    public static void LoadStateDict(IAutoregressiveImageModel model, IReadOnlyDictionary<string, Tensor> stateDict, string source = "the state dict")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stateDict);
        var fit = StateDictFit.Of(model.Module, stateDict);
        if (fit.Missing.Count > 0 || fit.Unexpected.Count > 0 || fit.MisShaped.Count > 0)
            throw new CheckpointException(source, fit.Missing, fit.Unexpected,
                fit.MisShaped.Select(m => $"{m.Key}: checkpoint ({string.Join(", ", m.Given)}) vs model ({string.Join(", ", m.Expected)})").ToList());
        if (fit.NotFloatingPoint.Count > 0)
        {
            var (key, dtype) = fit.NotFloatingPoint[0];
            throw new CheckpointException($"The entry '{key}' of {source} has dtype {dtype}, expected a floating-point tensor.");
        }
        fit.CopyInto(model.Module);
    }

    /// <summary>Saves the weights in TorchSharp's format, atomically (temporary file, then rename).</summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="path">Target file; replaced only when the whole file has been written.</param>
    public static void Save(IAutoregressiveImageModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream => TorchSharpFiles.Write(stream, model.Module));
    }

    /// <summary>
    /// Saves the weights as a PyTorch file readable by <c>torch.load</c>, atomically: a full checkpoint dict
    /// with the weights under <c>model_state_dict</c> (the authors' layout), or a bare state dict.
    /// </summary>
    /// <param name="model">The model (either kind; a PixelCNN++ file loads into the authors' baseline.py and pclucas14/pixel-cnn-pp).</param>
    /// <param name="path">Target file.</param>
    /// <param name="fullCheckpoint">True for the <c>{"model_state_dict": ...}</c> layout, false for a bare state dict.</param>
    public static void SavePyTorch(IAutoregressiveImageModel model, string path, bool fullCheckpoint = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream => PyTorchFiles.Write(stream, model.Module.state_dict(), fullCheckpoint));
    }
}
