using Tessera.Stages;
using Tessera.Infra.Storage;

namespace Tessera.Grains.Workers;

/// <summary>Process-wide settings of the workers in this silo.</summary>
public sealed record WorkerSettings(int TorchThreads);

/// <summary>What a worker thread needs from its silo: storage, the shard cache, the data plane, and a way to report.</summary>
public sealed record WorkerServices(IArtifactStore Store, ShardCache Shards, WorkerSettings Settings, IGrainFactory Grains, DataPlane DataPlane);
