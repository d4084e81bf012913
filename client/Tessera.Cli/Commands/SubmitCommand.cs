using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera submit spec.yaml`: validate, send to the running silo, print the experiment id at once. The submission
/// carries an idempotency key (new per invocation unless `--idempotency-key` names one), and a call that may not have
/// been answered is sent again under the same key (<see cref="Submissions"/>), so a slow cluster never runs it twice.
/// </summary>
public sealed class SubmitCommand : AsyncCommand<SubmitCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandArgument(0, "<spec>")]
        [Description("Experiment spec (YAML).")]
        public string Spec { get; set; } = "";

        [CommandOption("--idempotency-key <KEY>")]
        [Description("Submit under this key: the first submission under a key starts the experiment, every later one (same spec) prints the same id and starts nothing. Default: a new key per invocation, reused on its own retries.")]
        public string? IdempotencyKey { get; set; }

        [CommandOption("--attempts <N>")]
        [Description("Attempts when the cluster does not answer in time, all under the same key (default 5).")]
        [DefaultValue(Submissions.DefaultAttempts)]
        public int Attempts { get; set; } = Submissions.DefaultAttempts;

        public override ValidationResult Validate()
        {
            if (IdempotencyKey is not null && Submissions.CheckKey(IdempotencyKey) is { } problem)
                return ValidationResult.Error($"--idempotency-key {problem}");
            return Attempts < 1 ? ValidationResult.Error("--attempts must be at least 1") : ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!SpecFiles.TryLoad(settings.Spec, out var spec, out string yaml)) return ExitCodes.InvalidInput;
        Logging.Configure(settings.Runs, "submit");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        string key = settings.IdempotencyKey ?? Submissions.NewKey();
        try
        {
            var status = await Submissions.SubmitAsync(connection.Client, connection.Where, key, SpecFiles.NewExperimentId(spec),
                new ExperimentSubmission(yaml, settings.Spec, DateTimeOffset.UtcNow), settings.Attempts,
                (attempt, e) => Console.Error.WriteLine($"submit: attempt {attempt} not answered ({e.GetType().Name}); trying again with the same idempotency key"),
                cancellationToken);
            Console.WriteLine(status.Id);
            return ExitCodes.Success;
        }
        catch (SubmissionQuotaException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]refused:[/] {e.Message}");
            return ExitCodes.Refused;
        }
        catch (SubmissionUnansweredException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.Unavailable;
        }
    }
}
