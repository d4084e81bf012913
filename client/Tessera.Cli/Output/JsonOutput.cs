using System.Text.Json;
using Spectre.Console;
using Tessera.Silo.Api;

namespace Tessera.Cli.Output;

/// <summary>
/// `--json`: one JSON document on standard output in the HTTP API's style (snake_case fields, lowercase states), and
/// every message meant for a person on standard error, so that the document is all a script reads from standard
/// output. The documents' fields are a contract, listed in docs/cli-json.md.
/// </summary>
public static class JsonOutput
{
    public const string OptionDescription = "Print one JSON document instead of the table (fields: docs/cli-json.md); messages go to standard error.";

    static readonly JsonSerializerOptions Options = new(ApiJson.Options) { WriteIndented = true };

    /// <summary>Where a command prints its messages: standard error under `--json`, else the terminal as usual.</summary>
    public static IAnsiConsole Messages(bool json) => json ? StandardError.Console : AnsiConsole.Console;

    public static void Write<T>(T document) => Console.Out.WriteLine(Serialize(document));

    public static string Serialize<T>(T document) => JsonSerializer.Serialize(document, Options);
}
