namespace Tessera.Infra.Specs;

/// <summary>A spec that cannot run: names the file, the line and column, and what is wrong.</summary>
public sealed class SpecException(string file, int line, int column, string problem)
    : Exception(line > 0 ? $"{file}:{line}:{column}: {problem}" : $"{file}: {problem}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public int Column { get; } = column;
    public string Problem { get; } = problem;
}
