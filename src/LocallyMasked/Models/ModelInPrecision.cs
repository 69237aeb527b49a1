using LocallyMasked.Likelihoods;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// A model evaluated in another compute precision (<see cref="IAutoregressiveImageModel.WithPrecision"/>): the same
/// module and parameters, whose distribution parameters the model computes with its products in
/// <see cref="Precision"/>; every likelihood follows from them as for the model itself (<see cref="ModelLikelihoods"/>).
/// It does not own the model: disposing it does nothing.
/// </summary>
internal sealed class ModelInPrecision : IAutoregressiveImageModel
{
    private readonly Func<Tensor, IReadOnlyList<GenerationOrder>, Generator?, Tensor> _parameters;

    /// <summary>Creates the view.</summary>
    /// <param name="model">The model (its own precision is Float32).</param>
    /// <param name="precision">The precision the view computes in.</param>
    /// <param name="parameters">The model's distribution parameters in that precision.</param>
    public ModelInPrecision(IAutoregressiveImageModel model, ComputePrecision precision, Func<Tensor, IReadOnlyList<GenerationOrder>, Generator?, Tensor> parameters)
    {
        Model = model;
        Precision = precision;
        _parameters = parameters;
    }

    /// <summary>The model viewed.</summary>
    public IAutoregressiveImageModel Model { get; }

    public ComputePrecision Precision { get; }

    public ModelKind Kind => Model.Kind;

    public nn.Module Module => Model.Module;

    public IImageModelConfig Configuration => Model.Configuration;

    public PixelLikelihood Likelihood => Model.Likelihood;

    public Device Device => Model.Device;

    public ScalarType DType => Model.DType;

    public IReadOnlyList<GenerationOrder>? SupportedOrders => Model.SupportedOrders;

    public bool SupportsOrder(GenerationOrder order) => Model.SupportsOrder(order);

    public IAutoregressiveImageModel WithPrecision(ComputePrecision precision) => Model.WithPrecision(precision);

    public Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout = null)
    {
        // The parameters may have changed dtype since the view was made (Module.to).
        Precision.CheckParameters(Model.DType, "precision");
        return _parameters(x, orders, dropout);
    }

    public Tensor LogLikelihoodPerPixel(Tensor x, GenerationOrder order) => ModelLikelihoods.PerPixel(this, x, order);

    public Tensor LogLikelihood(Tensor x, GenerationOrder order) => ModelLikelihoods.PerImage(this, x, order);

    public Tensor LogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders) => ModelLikelihoods.PerImage(this, x, orders);

    public Tensor PerOrderLogLikelihoods(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.PerOrder(this, x, orders, null, maxBatchSize);

    public Tensor EnsembleLogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.Ensemble(this, x, orders, maxBatchSize);

    public Tensor RegionLogLikelihood(Tensor x, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        ModelLikelihoods.Region(this, x, region, orders, maxBatchSize);

    /// <summary>Nothing: the view does not own the model.</summary>
    public void Dispose()
    {
    }

    /// <summary>The model and the precision.</summary>
    public override string ToString() => $"{Model.Kind} in precision {Precision}";
}
