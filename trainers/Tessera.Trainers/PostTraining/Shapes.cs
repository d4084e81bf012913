using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>Argument checks shared by the objectives, so a mismatched batch fails with names instead of broadcasting silently.</summary>
internal static class Shapes
{
    /// <summary>Throws unless every tensor has the shape of the first and that shape has <paramref name="rank"/> dimensions.</summary>
    public static void RequireSame(int rank, params (string Name, Tensor Value)[] tensors)
    {
        var (firstName, first) = tensors[0];
        if (first.dim() != rank)
            throw new ArgumentException($"{firstName} has shape ({string.Join(", ", first.shape)}); expected {rank} dimension(s)");
        foreach (var (name, value) in tensors.Skip(1))
            if (!value.shape.SequenceEqual(first.shape))
                throw new ArgumentException($"{name} has shape ({string.Join(", ", value.shape)}), {firstName} has ({string.Join(", ", first.shape)}); they must match");
    }

    public static void RequirePositive(double value, string name)
    {
        if (!(value > 0 && double.IsFinite(value))) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite");
    }
}
