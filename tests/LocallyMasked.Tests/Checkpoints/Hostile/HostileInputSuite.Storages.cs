using System.Text;
using LocallyMasked.Checkpoints;
using LocallyMasked.TestSupport;

namespace LocallyMasked.Tests.Checkpoints.Hostile;

/// <summary>Storages and tensors of both torch.save formats: claimed sizes, views, archive layout.</summary>
public sealed partial class HostileInputSuite
{
    private static IEnumerable<HostileCase> StorageCases()
    {
        var fail = typeof(CheckpointException);
        yield return TensorCase("zip: a storage claims 2^40 elements and holds 4 bytes", "holds 4 bytes", 1L << 40, 0, new long[] { 1 }, new long[] { 1 });
        yield return TensorCase("zip: a tensor reaches beyond its storage", "reaches element 5 of its 1", 1, 0, new long[] { 2, 2 }, new long[] { 4, 1 });
        yield return TensorCase("zip: a tensor's sizes multiply past 64 bits", "does not fit in 64 bits", 1, 0, new long[] { 1L << 40, 1L << 40 }, new long[] { 1, 1 });
        yield return TensorCase("zip: a negative stride", "a tensor's strides is -1, expected a non-negative integer", 1, 0, new long[] { 1 }, new long[] { -1 });
        yield return TensorCase("zip: a tensor's last element overflows 64 bits", "does not fit in 64 bits", 1, long.MaxValue, new long[] { 2 }, new long[] { 1 });
        yield return new HostileCase("zip: two data.pkl in different folders", folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            var content = TorchSaveFiles.Checkpoint(Weights);
            using (var file = File.Create(path))
            using (var zip = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Create))
                foreach (var name in new[] { "a/data.pkl", "b/data.pkl" })
                    using (var entry = zip.CreateEntry(name).Open())
                        entry.Write(content.Pickle);
            return () => PixelCnnCheckpoint.LoadModel(path, Options).Dispose();
        }, fail, "2 <folder>/data.pkl entries");
        yield return new HostileCase("zip: a big-endian file", folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            TorchSaveFiles.WriteZip(path, TorchSaveFiles.Checkpoint(Weights), byteOrder: "big");
            return () => PixelCnnCheckpoint.LoadModel(path, Options).Dispose();
        }, fail, "byte order is 'big'");
        yield return new HostileCase("zip: a storage entry is missing", folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            var content = TorchSaveFiles.Checkpoint(Weights);
            TorchSaveFiles.WriteZip(path, content with { Storages = content.Storages.Skip(1).ToList() });
            return () => PixelCnnCheckpoint.LoadModel(path, Options).Dispose();
        }, fail, "has no entry archive/data/0");
        yield return new HostileCase("legacy: a storage claims 2^40 elements", folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            var pickle = new PickleBytes().Proto().OrderedDict().Mark().Str("w").Tensor("k", 1L << 40, 0, new long[] { 1 }, new long[] { 1 }).SetItems().Stop();
            TorchSaveFiles.WriteLegacy(path, new TorchSaveFiles.Content(pickle.ToArray(), new[] { ("k", 1L << 40, new byte[4]) }));
            return () => PixelCnnCheckpoint.ReadPyTorchStateDict(path);
        }, fail, "needs 4398046511104 bytes; the file holds 4 more");
        yield return new HostileCase("legacy: the element count before a storage's data differs from the pickle's", folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            TorchSaveFiles.WriteLegacy(path, TorchSaveFiles.Checkpoint(Weights), counts: key => key == "2" ? 7 : CountOf(key));
            return () => PixelCnnCheckpoint.LoadModel(path, Options).Dispose();
        }, fail, "Storage '2' holds 7 elements");
        yield return new HostileCase("legacy: the object is a list nested 50,000 deep", folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            var pickle = new PickleBytes().Proto();
            NestedList(pickle, 50_000);
            TorchSaveFiles.WriteLegacy(path, new TorchSaveFiles.Content(pickle.Stop().ToArray(), Array.Empty<(string, long, byte[])>()));
            return () => PixelCnnCheckpoint.ReadPyTorchStateDict(path);
        }, fail, "CheckpointLimits.MaxNestingDepth");
        yield return new HostileCase("TorchSharp: a dimension of 2^63 (LEB128 past 63 bits)", folder =>
        {
            var path = Path.Combine(folder, "hostile.bin");
            using (var writer = new BinaryWriter(File.Create(path), Encoding.UTF8))
            {
                writer.Write((byte)1);   // one entry
                writer.Write("w");
                writer.Write((byte)6);   // float32
                writer.Write((byte)1);   // one dimension
                writer.Write(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 });
            }
            return () => PixelCnnCheckpoint.ReadTorchSharpStateDict(path);
        }, fail, "more than 63 bits");
    }

    /// <summary>The element count of a storage of <see cref="TorchSaveFiles.Checkpoint"/>: the numel of the weight of that index.</summary>
    private static long CountOf(string key) => Weights.Values.ElementAt(int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)).numel();

    /// <summary>A zip-format state dict of one tensor <c>w</c> of storage "k" (holding 4 bytes) with the given view.</summary>
    private static HostileCase TensorCase(string name, string fragment, long storageCount, long offset, long[] shape, long[] stride) =>
        new(name, folder =>
        {
            var path = Path.Combine(folder, "hostile.pth");
            var pickle = new PickleBytes().Proto().OrderedDict().Mark().Str("w").Tensor("k", storageCount, offset, shape, stride).SetItems().Stop();
            TorchSaveFiles.WriteZip(path, new TorchSaveFiles.Content(pickle.ToArray(), new[] { ("k", storageCount, new byte[4]) }));
            return () => PixelCnnCheckpoint.ReadPyTorchStateDict(path);
        }, typeof(CheckpointException), fragment);
}
