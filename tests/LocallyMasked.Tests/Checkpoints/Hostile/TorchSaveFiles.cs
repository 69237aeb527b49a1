using System.IO.Compression;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints.Hostile;

/// <summary>
/// Writes files in torch.save's two formats from a pickle made by <see cref="PickleBytes"/> and raw storages: the zip
/// format (<c>archive/data.pkl</c>, <c>archive/data/&lt;key&gt;</c>, <c>archive/version</c>, <c>archive/byteorder</c>)
/// and the legacy format (pickles of the magic number, the protocol and the system info, the object, the storage keys,
/// then each storage's element count and data). Also the pickle of a checkpoint dict holding given weights.
/// </summary>
internal static class TorchSaveFiles
{
    /// <summary>A pickle and the storages its tensors refer to.</summary>
    public sealed record Content(byte[] Pickle, IReadOnlyList<(string Key, long Count, byte[] Data)> Storages);

    /// <summary>
    /// The pickle of <c>{'model_state_dict': OrderedDict(weights), key: value, ...}</c>: each weight a float32 tensor of its
    /// own storage (keys "0", "1", ...), then the extra entries written by the callbacks (which may use memo indices from
    /// 1000 on).
    /// </summary>
    public static Content Checkpoint(IReadOnlyDictionary<string, Tensor> weights, params (string Key, Action<PickleBytes> Value)[] extra)
    {
        var p = new PickleBytes().Proto().EmptyDict().Mark().Str("model_state_dict").OrderedDict().Mark();
        var storages = new List<(string, long, byte[])>();
        foreach (var (name, value) in weights)
        {
            var data = value.to(ScalarType.Float32).contiguous();
            string key = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var shape = data.shape;
            var stride = Enumerable.Range(0, shape.Length).Select(i => shape.Skip(i + 1).Aggregate(1L, (a, b) => a * b)).ToArray();
            p.Str(name).Tensor(key, data.numel(), 0, shape, stride);
            storages.Add((key, data.numel(), data.data<float>().ToArray().SelectMany(BitConverter.GetBytes).ToArray()));
        }
        p.SetItems();
        foreach (var (key, value) in extra)
        {
            p.Str(key);
            value(p);
        }
        return new Content(p.SetItems().Stop().ToArray(), storages);
    }

    /// <summary>Writes the zip format; storage entries are stored uncompressed as torch.save stores them, unless a level is given.</summary>
    public static void WriteZip(string path, Content content, string byteOrder = "little", CompressionLevel storageLevel = CompressionLevel.NoCompression,
        string pickleEntry = "archive/data.pkl")
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        Entry(zip, pickleEntry, content.Pickle, CompressionLevel.NoCompression);
        foreach (var (key, _, data) in content.Storages) Entry(zip, $"archive/data/{key}", data, storageLevel);
        Entry(zip, "archive/version", Encoding.ASCII.GetBytes("3\n"), CompressionLevel.NoCompression);
        Entry(zip, "archive/byteorder", Encoding.ASCII.GetBytes(byteOrder), CompressionLevel.NoCompression);
    }

    /// <summary>Writes the legacy format; <paramref name="counts"/> replaces the element count written before a storage's data.</summary>
    public static void WriteLegacy(string path, Content content, Func<string, long>? counts = null)
    {
        using var file = File.Create(path);
        var magic = BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture).ToByteArray();
        file.Write(new PickleBytes().Proto().Op(0x8a, (byte)magic.Length).Raw(magic).Stop().ToArray());
        file.Write(new PickleBytes().Proto().Op((byte)'M').Raw(BitConverter.GetBytes((ushort)1001)).Stop().ToArray());
        file.Write(new PickleBytes().Proto().EmptyDict().Mark().Str("protocol_version").Int(1001).Str("little_endian").Bool(true).SetItems().Stop().ToArray());
        file.Write(content.Pickle);
        var keys = new PickleBytes().Proto().EmptyList().Mark();
        foreach (var (key, _, _) in content.Storages) keys.Str(key);
        file.Write(keys.Appends().Stop().ToArray());
        foreach (var (key, count, data) in content.Storages)
        {
            file.Write(BitConverter.GetBytes(counts?.Invoke(key) ?? count));
            file.Write(data);
        }
    }

    private static void Entry(ZipArchive zip, string name, byte[] data, CompressionLevel level)
    {
        using var stream = zip.CreateEntry(name, level).Open();
        stream.Write(data);
    }
}
