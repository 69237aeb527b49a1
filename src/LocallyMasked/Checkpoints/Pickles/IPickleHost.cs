namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// What gives a pickle's external references and calls their meaning for one file format (torch.save's storages and
/// tensors); without a host, a persistent id is refused and every call stays an inert <see cref="PickleObject"/>.
/// </summary>
internal interface IPickleHost
{
    /// <summary>The value a persistent id (PERSID, BINPERSID) stands for.</summary>
    /// <param name="id">The id as unpickled.</param>
    /// <exception cref="InvalidDataException">The id is not one of the format's.</exception>
    object? PersistentLoad(object? id);

    /// <summary>The value of a call (REDUCE, NEWOBJ) the format knows, such as the rebuilding of a tensor.</summary>
    /// <param name="callable">What would be called.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="result">The value, when the call is one the host knows.</param>
    /// <returns>Whether the host knows the call (else the machine keeps it as a <see cref="PickleObject"/>).</returns>
    /// <exception cref="InvalidDataException">A known call with arguments it cannot take.</exception>
    bool TryReduce(object? callable, PickleTuple arguments, out object? result);
}
