using System.Collections;
using LocallyMasked.Models;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Files written by PyTorch's <c>torch.save</c>, as the authors' code writes them: the zip format (read through
/// TorchSharp.PyBridge) and the legacy format of torch &lt; 1.6 in which the published checkpoints were written
/// (<see cref="LegacyPyTorchUnpickler"/>); either a full checkpoint dict (weights under <c>model_state_dict</c>, the
/// moving average under <c>ema_state_dict</c>, the arguments of their <c>main.py</c> under <c>args</c>) or a bare state
/// dict (pclucas14/pixel-cnn-pp's files are of this kind), with or without the data-parallel <c>module.</c> prefix.
/// </summary>
internal static class PyTorchFiles
{
    /// <summary>What a PyTorch file holds for loading a model: the weights, and the reference code's arguments when saved.</summary>
    /// <param name="Weights">The model state dict (or the moving average's), keys without a <c>module.</c> prefix.</param>
    /// <param name="Arguments">The <c>args</c> dict of a checkpoint written by the reference code's <c>main.py</c>, or null.</param>
    public sealed record Contents(Dictionary<string, Tensor> Weights, IDictionary? Arguments);

    /// <summary>Whether a file starts like a PyTorch file (zip, or the legacy format).</summary>
    /// <param name="path">An existing file.</param>
    public static bool IsPyTorchFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        Span<byte> start = stackalloc byte[4];
        int read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        return IsZip(start[..read]) || LegacyPyTorchUnpickler.LooksLegacy(start[..read]);
    }

    /// <summary>
    /// Reads the weights (<c>model_state_dict</c>, or <c>ema_state_dict</c> when <paramref name="movingAverage"/>) and the
    /// <c>args</c> entry of a full checkpoint, or a bare state dict; other entries are skipped and their tensors released.
    /// The tensors are on the CPU in the file's dtype and belong to the caller.
    /// </summary>
    /// <param name="path">A file written by <c>torch.save</c>.</param>
    /// <param name="movingAverage">Read the moving average instead of the trained weights.</param>
    /// <exception cref="CheckpointException">The file is unreadable, truncated, holds no state dict, or no moving average when asked for one.</exception>
    public static Contents Read(string path, bool movingAverage)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string weightsKey = movingAverage ? PixelCnnCheckpoint.EmaStateDictKey : PixelCnnCheckpoint.ModelStateDictKey;
        var (root, full) = ReadRoot(path, weightsKey);

        var weights = root;
        IDictionary? arguments = null;
        if (full)
        {
            if (root[weightsKey] is null && movingAverage)
            {
                DisposeTensorsExcept(root, new HashSet<Tensor>(ReferenceEqualityComparer.Instance), 0);
                throw new CheckpointException(
                    $"'{path}' holds no '{PixelCnnCheckpoint.EmaStateDictKey}' (moving average of the weights); load its trained weights instead.");
            }
            weights = root[weightsKey] as Hashtable
                ?? throw new CheckpointException($"The '{weightsKey}' entry of '{path}' is not a dictionary.");
            arguments = root[PixelCnnCheckpoint.ArgumentsKey] as IDictionary;
        }
        else if (movingAverage)
        {
            DisposeTensorsExcept(root, new HashSet<Tensor>(ReferenceEqualityComparer.Instance), 0);
            throw new CheckpointException($"'{path}' is a bare state dict: it holds no moving average of the weights.");
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var notTensors = new List<string>();
        foreach (DictionaryEntry entry in weights)
        {
            var key = StateDictFit.WithoutPrefix(entry.Key?.ToString() ?? string.Empty);
            if (entry.Value is Tensor t) result[key] = t;
            else notTensors.Add(key);
        }
        // Release what the caller does not get (optimizer state of a full checkpoint read by PyBridge).
        DisposeTensorsExcept(root, new HashSet<Tensor>(result.Values, ReferenceEqualityComparer.Instance), 0);
        if (notTensors.Count > 0)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new CheckpointException(
                $"'{path}' holds neither a '{PixelCnnCheckpoint.ModelStateDictKey}' entry nor a bare state dict: entries {string.Join(", ", notTensors.Take(10))} are not tensors.");
        }
        return new Contents(result, arguments);
    }

    /// <summary>Writes a state dict readable by <c>torch.load</c> (zip format): a full checkpoint dict with the weights under <c>model_state_dict</c>, or a bare state dict.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="stateDict">The weights (copied to the CPU).</param>
    /// <param name="fullCheckpoint">True for the <c>{"model_state_dict": ...}</c> layout, false for a bare state dict.</param>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> stateDict, bool fullCheckpoint)
    {
        using var scope = NewDisposeScope();
        var weights = new Hashtable();
        foreach (var (key, value) in stateDict) weights[key] = value.detach().cpu();
        IDictionary root = weights;
        if (fullCheckpoint) root = new Hashtable { [PixelCnnCheckpoint.ModelStateDictKey] = weights };
        PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true);
    }

    /// <summary>The file's root dictionary, and whether it is a full checkpoint (it has a <c>model_state_dict</c>).</summary>
    private static (Hashtable Root, bool Full) ReadRoot(string path, string weightsKey)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> start = stackalloc byte[4];
            int read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
            stream.Seek(0, SeekOrigin.Begin);
            if (LegacyPyTorchUnpickler.LooksLegacy(start[..read]))
            {
                bool isFull = false;
                // Only the chosen weights' storages are read: a full checkpoint is narrowed to them and its arguments.
                var part = LegacyPyTorchUnpickler.Read(stream, r =>
                {
                    if (r is not Hashtable h || !h.ContainsKey(PixelCnnCheckpoint.ModelStateDictKey)) return r;
                    isFull = true;
                    return new Hashtable { [weightsKey] = h[weightsKey], [PixelCnnCheckpoint.ArgumentsKey] = h[PixelCnnCheckpoint.ArgumentsKey] };
                });
                return (part as Hashtable ?? throw new InvalidDataException("The file holds no dictionary."), isFull);
            }
            LegacyPyTorchUnpickler.EnsureInstalled();
            var root = PyTorchUnpickler.UnpickleStateDict(stream);
            return (root, root.ContainsKey(PixelCnnCheckpoint.ModelStateDictKey));
        }
        catch (Exception e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not CheckpointException)
        {
            throw new CheckpointException(
                $"Could not read '{path}' as a PyTorch checkpoint (a file written by torch.save): {e.Message}", e);
        }
    }

    private static void DisposeTensorsExcept(object? node, HashSet<Tensor> keep, int depth)
    {
        if (depth > 64) return;
        switch (node)
        {
            case Tensor t when !keep.Contains(t): t.Dispose(); break;
            case Tensor: break;
            case IDictionary d: foreach (DictionaryEntry e in d) DisposeTensorsExcept(e.Value, keep, depth + 1); break;
            case IEnumerable e and not string: foreach (var item in e) DisposeTensorsExcept(item, keep, depth + 1); break;
        }
    }

    private static bool IsZip(ReadOnlySpan<byte> start) =>
        start.Length >= 4 && start[0] == 0x50 && start[1] == 0x4b && start[2] == 0x03 && start[3] == 0x04;
}
