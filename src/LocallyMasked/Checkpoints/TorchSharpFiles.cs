using LocallyMasked.Checkpoints.Pickles;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Weights in TorchSharp's own format (<c>Module.save</c>): a LEB128 entry count, then each entry as its name and a
/// tensor record. Read with every record checked against the file's length first, since TorchSharp's reader reports
/// neither a corrupt header nor a short read.
/// </summary>
internal static class TorchSharpFiles
{
    /// <summary>Reads the state dict; the tensors are on the CPU and belong to the caller.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="CheckpointException">The file is truncated or not in TorchSharp's format.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream);
            long count = TensorRecords.ReadLeb128(reader);
            if (count > 1_000_000) throw new InvalidDataException($"Implausible entry count {count}.");
            for (long i = 0; i < count; i++)
            {
                var key = reader.ReadString();
                long before = stream.Position;
                TensorRecords.CheckFits(reader, path, "state dict", key);
                var tensor = TensorExtensionMethods.Load(reader);
                result[key] = tensor;
                // A short read inside the tensor data is not reported by TorchSharp: compare the bytes consumed.
                if (stream.Position - before < tensor.NumberOfElements * tensor.ElementSize)
                    throw new EndOfStreamException($"The data of {PickleText.Quote(key)} is cut short.");
            }
            if (stream.Position != stream.Length) throw new InvalidDataException("Trailing bytes after the last tensor.");
        }
        catch (Exception e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new CheckpointException($"Could not read '{path}' as a TorchSharp state dict: {e.Message}", e);
        }
        return result;
    }

    /// <summary>Writes a module's state dict in TorchSharp's format.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="module">The module.</param>
    public static void Write(Stream stream, nn.Module module)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        module.save(writer);
        writer.Flush();
    }
}
