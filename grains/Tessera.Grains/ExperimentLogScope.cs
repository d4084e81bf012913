using Microsoft.Extensions.Logging;

namespace Tessera.Grains;

/// <summary>
/// The logging scope that puts <c>ExperimentId</c> and <c>Stage</c> on every event logged inside it (Serilog turns
/// scope dictionaries into event properties), so a silo's log can be split by experiment and followed per stage.
/// </summary>
public static class ExperimentLogScope
{
    public const string ExperimentId = "ExperimentId";
    public const string Stage = "Stage";

    public static IDisposable? Begin(ILogger logger, string experimentId, string? stage)
    {
        var properties = new Dictionary<string, object> { [ExperimentId] = experimentId };
        if (stage is not null) properties[Stage] = stage;
        return logger.BeginScope(properties);
    }
}
