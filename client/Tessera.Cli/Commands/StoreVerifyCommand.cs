using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Infra.Storage;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera store verify`: reads every artifact of a store (a `--runs` directory, or the blob container of a cluster)
/// and checks it against the SHA-256 recorded when it was written. Exit 0 when all verify, 1 when any is corrupt.
/// </summary>
public sealed class StoreVerifyCommand : AsyncCommand<StoreVerifyCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--runs <DIR>")]
        [Description("Local artifact store directory (default ./runs; ignored when a blob store is given).")]
        [DefaultValue("runs")]
        public string Runs { get; set; } = "runs";

        [CommandOption("--blob <CONN>")]
        [Description("Azure Storage connection string of a cluster's artifact store (better: env TESSERA_BLOB).")]
        public string? Blob { get; set; }

        [CommandOption("--container <NAME>")]
        [Description($"Blob container (default env TESSERA_BLOB_CONTAINER, else {BlobArtifactStore.DefaultContainer}).")]
        public string? Container { get; set; }

        [CommandOption("--prefix <PREFIX>")]
        [Description("Only artifacts whose path starts with this (e.g. an experiment id).")]
        [DefaultValue("")]
        public string Prefix { get; set; } = "";

        [CommandOption("--json")] [Description(JsonOutput.OptionDescription)]
        public bool Json { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        string? blob = settings.Blob ?? NonEmpty(Environment.GetEnvironmentVariable("TESSERA_BLOB"));
        IArtifactStore store;
        if (blob is not null)
            store = BlobArtifactStore.Connect(blob,
                settings.Container ?? NonEmpty(Environment.GetEnvironmentVariable("TESSERA_BLOB_CONTAINER")) ?? BlobArtifactStore.DefaultContainer);
        else if (!Directory.Exists(settings.Runs))
        {
            JsonOutput.Messages(settings.Json).MarkupLineInterpolated($"[red]error:[/] --runs {settings.Runs}: no such directory");
            return ExitCodes.InvalidInput;
        }
        else store = new LocalArtifactStore(settings.Runs);

        var report = await StoreVerifier.VerifyAsync(store, settings.Prefix, cancellationToken: cancellationToken);
        if (settings.Json)
        {
            JsonOutput.Write(new StoreVerifyJson(store.Location, settings.Prefix, report.Artifacts, report.Bytes, report.Unrecorded,
                [.. report.Corrupt.Select(p => new CorruptArtifactJson(p.Path, p.Message))], report.Ok));
            return report.Ok ? ExitCodes.Success : ExitCodes.Failed;
        }
        foreach (var problem in report.Corrupt)
            AnsiConsole.MarkupLineInterpolated($"[red]corrupt[/] {problem.Path}: {problem.Message}");
        // One fixed line for scripts (infra/scripts/chaos.sh reads it).
        Console.WriteLine($"store verify: {report.Artifacts} artifacts, {report.Bytes} bytes read, {report.Corrupt.Count} corrupt, " +
            $"{report.Unrecorded} without a recorded hash (not checkable) ({store.Location})");
        return report.Ok ? ExitCodes.Success : ExitCodes.Failed;
    }

    static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
