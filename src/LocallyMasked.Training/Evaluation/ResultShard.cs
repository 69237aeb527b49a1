namespace LocallyMasked.Training.Evaluation;

/// <summary>Which part of a sharded evaluation an <see cref="EvaluationResult"/> holds (<c>lmconv evaluate --shard I/N</c>).</summary>
public sealed record ResultShard
{
    /// <summary>This part, from 0.</summary>
    public required int Index { get; init; }

    /// <summary>How many parts the evaluation was cut into.</summary>
    public required int Count { get; init; }

    /// <summary>The index of this part's first image.</summary>
    public required int First { get; init; }

    /// <summary>Images of the whole evaluation (this part holds <see cref="EvaluationResult.Images"/> of them).</summary>
    public required int Total { get; init; }
}
