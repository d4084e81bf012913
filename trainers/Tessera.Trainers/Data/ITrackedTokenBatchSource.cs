using Tessera.Infra.Data;

namespace Tessera.Trainers.Data;

/// <summary>Where one sequence of a batch came from: its shard and its index in that shard.</summary>
public readonly record struct SampleId(int Shard, int Index);

/// <summary>
/// A token batch source that also says which stored sequence each row is, so numbers computed per sequence (a frozen
/// reference's log-probabilities) can be kept and looked up by it.
/// </summary>
public interface ITrackedTokenBatchSource : ITokenBatchSource
{
    /// <summary>The next batch, exactly as <see cref="ITokenBatchSource.Next"/> gives it, with each row's origin.</summary>
    (TokenBatch Batch, SampleId[] Ids) NextTracked(int batchSize);
}
