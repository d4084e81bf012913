using Tessera.Infra.Storage;

namespace Tessera.Grains;

/// <summary>
/// Lets <see cref="ArtifactRef"/> (infra's record, which knows nothing of Orleans) travel in grain calls and state as
/// it is, instead of a second record copied field by field. The ids are those the old ArtifactInfo record had, so
/// state written before keeps reading.
/// </summary>
[GenerateSerializer, Immutable]
public readonly struct ArtifactRefSurrogate(string path, string sha256, long length)
{
    [Id(0)] public readonly string Path = path;
    [Id(1)] public readonly string Sha256 = sha256;
    [Id(2)] public readonly long Length = length;
}

[RegisterConverter]
public sealed class ArtifactRefConverter : IConverter<ArtifactRef, ArtifactRefSurrogate>
{
    public ArtifactRef ConvertFromSurrogate(in ArtifactRefSurrogate surrogate) => new(surrogate.Path, surrogate.Sha256, surrogate.Length);
    public ArtifactRefSurrogate ConvertToSurrogate(in ArtifactRef value) => new(value.Path, value.Sha256, value.Length);
}
