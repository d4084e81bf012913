using Tessera.Infra.Data;

namespace Tessera.Trainers.Data;

/// <summary>An endless, deterministic stream of training batches (the sampler decides the order).</summary>
public interface IBatchSource
{
    ImageBatch Next(int batchSize);
}
