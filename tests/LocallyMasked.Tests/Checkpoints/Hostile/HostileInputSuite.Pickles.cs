using LocallyMasked.Checkpoints;
using LocallyMasked.TestSupport;

namespace LocallyMasked.Tests.Checkpoints.Hostile;

/// <summary>Pickles: recursion, cycles, claimed lengths and malformed programs.</summary>
public sealed partial class HostileInputSuite
{
    private static IEnumerable<HostileCase> PickleCases()
    {
        var fail = typeof(CheckpointException);
        // Recursion and cycles in what is read (the arguments) and in what is not (the optimizer state).
        yield return ZipCase("args['nr_filters'] is a list that holds itself", fail, "args['nr_filters'] holds [[[[...]]]], expected an integer",
            ("args", p => Args(p, ("nr_filters", q => q.EmptyList().Put(1000).Get(1000).Append()))));
        yield return ZipCase("args['nr_filters'] is a dict that holds itself", fail, "args['nr_filters'] is {'self': {'self'",
            ("args", p => Args(p, ("nr_filters", q => q.EmptyDict().Put(1000).Str("self").Get(1000).SetItem()))));
        yield return ZipCase("args['nr_filters'] is a list nested 50,000 deep", fail, "CheckpointLimits.MaxNestingDepth",
            ("args", p => Args(p, ("nr_filters", q => NestedList(q, 50_000)))));
        yield return ZipCase("args['resize_sizes'] holds a list nested 50,000 deep, built from the outside in", fail, "args['resize_sizes'] holds [[[",
            ("args", p => Args(p, ("resize_sizes", q => NestedListTopDown(q, 50_000, 1000)))));
        yield return ZipCase("args['nr_filters'] is an integer of 200 bytes", fail, "args['nr_filters'] is an integer of 1597 bits",
            ("args", p => Args(p, ("nr_filters", q => q.Op(0x8b).Raw(BitConverter.GetBytes(200)).Raw(Enumerable.Repeat((byte)0x11, 200).ToArray())))));
        yield return ZipCase("args['dataset'] is a name with a newline", fail, @"args['dataset'] is 'mni\x0ast'",
            ("args", p => Args(p, ("dataset", q => q.Str("mni\nst")))));
        yield return ZipCase("the optimizer state is L = []; L += [L, L] (never walked: the file loads)", null, "",
            ("optimizer_state_dict", p => p.EmptyList().Put(1000).Mark().Get(1000).Get(1000).Appends()));
        yield return ZipCase("the optimizer state is a list nested 50,000 deep, built from the outside in (the file loads)", null, "",
            ("optimizer_state_dict", p => NestedListTopDown(p, 50_000, 1000)));
        yield return PickleCase("the state dict holds itself", "entries 'self' are not tensors",
            p => p.EmptyDict().Put(1).Str("self").Get(1).SetItem().Stop());
        yield return PickleCase("a dict key is a list", "unhashable dict key",
            p => p.EmptyDict().EmptyList().Int(1).SetItem().Stop());

        // Lengths the pickle claims, checked before anything is allocated.
        yield return PickleCase("a string claims 4 GB in a 40-byte file", "CheckpointLimits.MaxPickleBytes",
            p => p.Op((byte)'X').Raw(BitConverter.GetBytes(0xFFFFFFF0u)).Raw(new byte[8]));
        yield return PickleCase("a string claims 1 MB in a 40-byte file", "the file holds only",
            p => p.Op((byte)'X').Raw(BitConverter.GetBytes(1u << 20)).Raw(new byte[8]));
        yield return PickleCase("an integer (LONG4) claims a gigabyte", "an integer of 1073741824 bytes",
            p => p.Op(0x8b).Raw(BitConverter.GetBytes(1 << 30)).Raw(new byte[8]));

        // Malformed programs.
        yield return PickleCase("an unknown opcode", "unknown opcode 0xff", p => p.Op(0xff));
        yield return PickleCase("a memo entry read before it is written", "memo entry 5 is read before it is written", p => p.Get(5).Stop());
        yield return PickleCase("an opcode that needs a value on an empty stack", "stack underflow", p => p.Append().Stop());
        yield return PickleCase("a persistent id torch.save never writes", "Unknown persistent id", p => p.Str("storage").BinPersId().Stop());
        yield return PickleCase("a pickle without its STOP", "before its STOP opcode", p => p.EmptyDict());
        yield return PickleCase("a protocol from the future", "pickle protocol 9", p => p.Op(0x80, 9));
        yield return PickleCase("the file is a list, not a dict", "holds [1, 2], not a state dict",
            p => p.EmptyList().Mark().Int(1).Int(2).Appends().Stop());
    }
}
