using Tessera.Infra.Data;

namespace Tessera.Trainers.Data;

/// <summary>An endless, deterministic stream of token batches for generator training.</summary>
public interface ITokenBatchSource
{
    TokenBatch Next(int batchSize);
}
