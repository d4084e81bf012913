using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Bench.Commands;
using Tessera.Cli;

namespace Tessera.Bench;

/// <summary>The `tessera-bench` command tree; each bench lives in Commands/, the models it times in Workloads/.</summary>
public static class BenchApp
{
    /// <summary>Runs the command line; `--n` is read as `-n`, as `tessera` does.</summary>
    public static Task<int> RunAsync(string[] args) =>
        Create().RunAsync(args.Select(a => a == "--n" ? "-n" : a).ToArray());

    public static CommandApp Create()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("tessera-bench");
            config.UseStrictParsing(); // an unknown option is refused, never ignored (as in tessera)
            config.SetExceptionHandler((exception, _) =>
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {exception.Message}");
                return exception is CommandAppException ? ExitCodes.InvalidInput : ExitCodes.Failed;
            });
            config.AddCommand<BenchAllReduceCommand>("allreduce")
                .WithDescription("Ring all-reduce over loopback gRPC vs raw loopback TCP.")
                .WithExample("allreduce", "--workers", "2,4", "--sizes", "1MB,16MB,64MB", "--json", "allreduce.json");
            config.AddCommand<BenchDpCommand>("dp")
                .WithDescription("Data-parallel overhead: a step with N ranks of one thread each (loopback gRPC ring) against one rank of one thread.")
                .WithExample("dp", "--workload", "ref-gpt", "--workers", "2", "--json", "dp.json");
            config.AddCommand<BenchStepCommand>("step")
                .WithDescription("Milliseconds per training step of a reference workload or a spec's stage, per libtorch thread count.")
                .WithExample("step", "--workload", "ref-gpt", "--threads", "1,2", "--json", "step.json");
            config.AddCommand<BenchSampleCommand>("sample")
                .WithDescription("Images/s of the GPT (KV cache on and off) and VAR generators, guided and guidance-free.")
                .WithExample("sample", "--batches", "1,64", "--json", "sample.json");
            config.AddCommand<BenchSubmitCommand>("submit")
                .WithDescription("N concurrent submissions from one client to a running cluster, each followed to its end: accepted, refused, completed, lost, duplicated, queue peak, drain.")
                .WithExample("submit", "--n", "200", "--gateway", "30000,30001,30002", "--json", "submit.json");
            config.AddCommand<BenchApiCommand>("api")
                .WithDescription("The status endpoint under load while an experiment trains: req/s, latency, training images/s with and without load.")
                .WithExample("api", "--rate", "2000", "--duration", "15", "--json", "api.json");
        });
        return app;
    }
}
