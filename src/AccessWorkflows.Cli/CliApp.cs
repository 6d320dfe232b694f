using System.CommandLine;
using System.CommandLine.Parsing;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Cli;

/// <summary>
/// <c>aw</c>: the product's command line over its HTTP API, on System.CommandLine (help on every command with
/// <c>--help</c>/<c>-h</c>, errors for unknown options, completion through the <c>[suggest]</c> directive). It
/// authenticates like any API caller: a bearer token (<c>--token</c> / <c>ACCESSWORKFLOWS_TOKEN</c>) or, against a
/// Development server, <c>--user</c> / <c>ACCESSWORKFLOWS_USER</c> sent as <c>X-Dev-User</c>.
/// Exit codes: 0 done, 1 refused by the server or unreachable, 2 usage error (nothing was sent).
/// </summary>
public static class CliApp
{
    public const int Refused = 1;
    public const int UsageError = 2;

    /// <summary>Runs <c>aw</c> with the given arguments. <paramref name="timeZone"/> is the zone times are shown in
    /// (the machine's by default).</summary>
    public static async Task<int> RunAsync(
        string[] args,
        HttpMessageHandler handler,
        TextWriter output,
        TextWriter error,
        Func<string, string?> environment,
        TimeZoneInfo? timeZone = null,
        CancellationToken cancellationToken = default)
    {
        var context = new CliContext(handler, output, error, environment, timeZone ?? TimeZoneInfo.Local);
        var root = CliCommands.Build(context);
        var parse = root.Parse(args);

        // Help and completion clear parse errors (`aw request --help` without --account is fine); anything else
        // with an error is a usage mistake, reported without calling the server.
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync(problem.Message);
            }

            var path = string.Join(' ', CommandPath(parse.CommandResult));
            await error.WriteLineAsync($"usage: {path} [options]; '{path} --help' shows them");
            return UsageError;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    private static Stack<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(r.Command is RootCommand ? "aw" : r.Command.Name);
        }

        return names;
    }

    /// <summary>Accepts the short forms people type (30m, 1h, 1d) and ISO 8601; sends ISO 8601.</summary>
    internal static string? IsoDuration(string? text) =>
        text is not null && AccessDuration.TryParse(text, out var d) ? AccessDuration.Format(d) : null;
}

/// <summary>What every command needs: where to write, how to reach the server, which zone to show times in.</summary>
internal sealed record CliContext(HttpMessageHandler Handler, TextWriter Output, TextWriter Error, Func<string, string?> Environment, TimeZoneInfo TimeZone);
