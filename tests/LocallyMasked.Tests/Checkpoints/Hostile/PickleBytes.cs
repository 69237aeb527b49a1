using System.Buffers.Binary;
using System.Text;

namespace LocallyMasked.Tests.Checkpoints.Hostile;

/// <summary>
/// Writes pickle opcodes by hand (protocol 2, as torch.save writes them), so that tests can make any pickle: valid ones
/// the way Python writes them, and hostile ones Python would never write (lying lengths, cycles, deep nesting).
/// </summary>
internal sealed class PickleBytes
{
    private readonly MemoryStream _bytes = new();

    public PickleBytes Op(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleBytes Op(char opcode) => Op((byte)opcode);

    public PickleBytes Proto() => Op(0x80, 2);

    public PickleBytes Stop() => Op('.');

    public PickleBytes Mark() => Op('(');

    public PickleBytes None() => Op('N');

    public PickleBytes Bool(bool value) => Op(value ? (byte)0x88 : (byte)0x89);

    public PickleBytes Int(long value)
    {
        if (value is >= 0 and < 256) return Op((byte)'K', (byte)value);
        if (value is >= int.MinValue and <= int.MaxValue) return Op((byte)'J').Raw(BitConverter.GetBytes((int)value));
        return Op(0x8a, 8).Raw(BitConverter.GetBytes(value));
    }

    public PickleBytes Float(double value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(bytes, value);
        return Op((byte)'G').Raw(bytes);
    }

    public PickleBytes Str(string value)
    {
        var utf8 = Encoding.UTF8.GetBytes(value);
        return Op((byte)'X').Raw(BitConverter.GetBytes(utf8.Length)).Raw(utf8);
    }

    public PickleBytes Global(string module, string name) => Op((byte)'c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleBytes EmptyDict() => Op('}');

    public PickleBytes EmptyList() => Op(']');

    public PickleBytes EmptyTuple() => Op(')');

    public PickleBytes Tuple() => Op('t');

    public PickleBytes Append() => Op('a');

    public PickleBytes Appends() => Op('e');

    public PickleBytes SetItem() => Op('s');

    public PickleBytes SetItems() => Op('u');

    public PickleBytes Reduce() => Op('R');

    public PickleBytes Build() => Op('b');

    public PickleBytes BinPersId() => Op('Q');

    public PickleBytes Put(uint index) => Op((byte)'r').Raw(BitConverter.GetBytes(index));

    public PickleBytes Get(uint index) => Op((byte)'j').Raw(BitConverter.GetBytes(index));

    public PickleBytes Raw(byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    /// <summary>An empty <c>collections.OrderedDict</c>, as a state dict starts.</summary>
    public PickleBytes OrderedDict() => Global("collections", "OrderedDict").EmptyTuple().Reduce();

    /// <summary>
    /// <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())</c> with the persistent id
    /// of the zip format, <c>('storage', torch.&lt;type&gt;, key, 'cpu', count)</c>.
    /// </summary>
    public PickleBytes Tensor(string key, long storageCount, long offset, long[] shape, long[] stride, string storageType = "FloatStorage")
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(storageCount).Tuple().BinPersId();
        Int(offset);
        Mark();
        foreach (var s in shape) Int(s);
        Tuple();
        Mark();
        foreach (var s in stride) Int(s);
        Tuple();
        Bool(false).OrderedDict();
        return Tuple().Reduce();
    }

    public byte[] ToArray() => _bytes.ToArray();
}
