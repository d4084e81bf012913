using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.CommandLine;
using Tessera.Cli.Commands;
using Tessera.Cli.Output;

namespace Tessera.Cli;

/// <summary>The `tessera` command tree; each sub-command lives in Commands/.</summary>
public static class TesseraApp
{
    /// <summary>Runs the command line. `--n` (as `tessera sample --n 64` is documented) is read as `-n`, since
    /// the parser only accepts one-letter names with a single dash.
    /// <para/>
    /// `tessera silo drain` is its own command under a hidden name: a branch would make `silo` a default command,
    /// whose options then vanish from `tessera silo --help` and whose unknown options go unreported.</summary>
    public static Task<int> RunAsync(string[] args) => RunAsync(args, StandardError.Console);

    /// <summary>As above, with errors (and suggestions: <see cref="UsageErrors"/>) told to <paramref name="errors"/>.</summary>
    public static Task<int> RunAsync(string[] args, IAnsiConsole errors)
    {
        string[] mapped = args.Select(a => a == "--n" ? "-n" : a).ToArray();
        if (mapped is ["silo", "drain", .. var rest]) mapped = [SiloDrainName, .. rest];
        if (mapped is [UsageErrors.VersionOption, .. var after]) mapped = ["version", .. after];
        var app = Create();
        app.Configure(config => config.SetExceptionHandler((exception, _) => UsageErrors.Report(exception, mapped, errors)));
        return app.RunAsync(mapped);
    }

    const string SiloDrainName = "silo-drain";

    public static CommandApp Create()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("tessera");
            // An option no command declares is an error (exit 2), never quietly left unused.
            config.UseStrictParsing();
            config.AddCommand<RunCommand>("run")
                .WithDescription("Run an experiment in an embedded, in-process silo and wait for it (no cluster needed).")
                .WithExample("run", "examples/quickstart.yaml");
            config.AddCommand<ValidateCommand>("validate").WithDescription("Check a spec without running it.");
            config.AddCommand<SchemaCommand>("schema").WithDescription("Print every stage kind and its settings (Markdown).");
            config.AddCommand<SiloCommand>("silo").WithDescription("Run a silo until Ctrl+C: alone (localhost clustering), or in a Redis cluster with --redis. `silo drain <silo>` drains one.");
            config.AddCommand<SiloDrainCommand>(SiloDrainName).IsHidden()
                .WithDescription("Stop placing ranks on a silo; its slots leave as they come free.");
            config.AddCommand<SubmitCommand>("submit").WithDescription("Submit an experiment to a running silo; prints its id.");
            config.AddCommand<StatusCommand>("status").WithDescription("Show one experiment's state and progress.");
            config.AddCommand<WatchCommand>("watch").WithDescription("Follow an experiment on a running silo until it ends.");
            config.AddCommand<CancelCommand>("cancel").WithDescription("Cancel an experiment on a running silo (resume continues it).");
            config.AddCommand<ResumeCommand>("resume")
                .WithDescription("Continue a failed, cancelled or interrupted experiment from where it stopped (embedded, or --gateway).")
                .WithExample("resume", "quickstart-20261128-181502-3fa2");
            config.AddCommand<SampleCommand>("sample")
                .WithDescription("Sample a trained generator into a grid or a folder of PNGs.")
                .WithExample("sample", "quickstart-20261128-181502-3fa2", "--class", "3", "--n", "64", "--cfg", "1.5", "--out", "grid.png");
            config.AddCommand<LogsCommand>("logs")
                .WithDescription("Print an experiment's log events; --follow keeps printing until it ends.")
                .WithExample("logs", "quickstart-20261128-181502-3fa2", "--follow");
            config.AddCommand<ListCommand>("list").WithDescription("List the experiments a silo knows.");
            config.AddCommand<ClusterCommand>("cluster").WithDescription("Show the silos, their slots in use, the queue and team quotas.");
            config.AddBranch("data", data =>
            {
                data.SetDescription("Datasets in the artifact store.");
                data.AddCommand<DataImportCommand>("import")
                    .WithDescription("Import an ImageFolder tree or MNIST IDX files as a sharded dataset.");
                data.AddCommand<DataIconsCommand>("icons")
                    .WithDescription("Write the builtin colour dataset `icons` (installed from Debian packages on first use) as an ImageFolder tree.");
            });
            config.AddBranch("store", store =>
            {
                store.SetDescription("The artifact store.");
                store.AddCommand<StoreVerifyCommand>("verify")
                    .WithDescription("Read every artifact and check it against the SHA-256 recorded at write time (exit 1 if any is corrupt).")
                    .WithExample("store", "verify", "--runs", "runs");
            });
            config.AddCommand<VersionCommand>("version")
                .WithDescription("Print Tessera's version and commit, the .NET, Orleans, TorchSharp and libtorch it runs on, and whether libtorch sees a GPU (also --version).");
            config.AddCommand<CompletionCommand>("completion")
                .WithDescription("Print a shell completion script for bash or zsh, written from this command tree.")
                .WithExample("completion", "bash");
        });
        return app;
    }
}
