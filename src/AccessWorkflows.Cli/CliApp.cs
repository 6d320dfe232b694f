using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Cli;

/// <summary>
/// <c>aw</c>: the product's command line over its HTTP API. It authenticates like any API caller: a bearer token
/// (<c>--token</c> / <c>ACCESSWORKFLOWS_TOKEN</c>) or, against a Development server, <c>--user</c> /
/// <c>ACCESSWORKFLOWS_USER</c> sent as <c>X-Dev-User</c>. Exit codes: 0 done, 1 refused or failed, 2 usage.
/// </summary>
public static class CliApp
{
    public const string Usage = """
        usage: aw [--server URL] [--user EMAIL | --token TOKEN] <command> [options]

          request --account ID (--policy ARN | --group NAME | --resource ARN --policy ARN)
                  [--duration 1h|30m|PT2H] [--reason TEXT] [--on-behalf-of EMAIL]
          list    [--status STATUS] [--mine]
          show    ID
          approve ID [--duration D] [--comment TEXT]
          deny    ID [--comment TEXT]
          relinquish ID
          revoke  ID [--comment TEXT]
          audit   ID

        environment: ACCESSWORKFLOWS_SERVER (default http://127.0.0.1:7071), ACCESSWORKFLOWS_USER, ACCESSWORKFLOWS_TOKEN
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static async Task<int> RunAsync(string[] args, HttpMessageHandler handler, TextWriter output, TextWriter error, Func<string, string?> environment)
    {
        CommandLine line;
        try
        {
            line = CommandLine.Parse(args);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync(ex.Message);
            await error.WriteLineAsync(Usage);
            return 2;
        }

        if (line.Command is null or "help")
        {
            await output.WriteLineAsync(Usage);
            return line.Command is null ? 2 : 0;
        }

        var server = line.Option("server") ?? environment("ACCESSWORKFLOWS_SERVER") ?? "http://127.0.0.1:7071";
        using var http = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri(server.TrimEnd('/') + "/") };
        if ((line.Option("token") ?? environment("ACCESSWORKFLOWS_TOKEN")) is { Length: > 0 } token)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if ((line.Option("user") ?? environment("ACCESSWORKFLOWS_USER")) is { Length: > 0 } user)
        {
            http.DefaultRequestHeaders.Add("X-Dev-User", user);
        }

        try
        {
            return line.Command switch
            {
                "request" => await RequestAsync(http, line, output, error),
                "list" => await ListAsync(http, line, output, error),
                "show" => await ShowAsync(http, line, output, error),
                "approve" => await DecideAsync(http, line, "approve", output, error),
                "deny" => await DecideAsync(http, line, "deny", output, error),
                "relinquish" => await SendAsync(http, HttpMethod.Post, $"api/requests/{line.Id()}/relinquish", null, output, error),
                "revoke" => await SendAsync(http, HttpMethod.Post, $"api/requests/{line.Id()}/revoke", Body(("comment", line.Option("comment"))), output, error),
                "audit" => await AuditAsync(http, line, output, error),
                _ => throw new UsageException($"Unknown command '{line.Command}'."),
            };
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync(ex.Message);
            await error.WriteLineAsync(Usage);
            return 2;
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"Could not reach {server}: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> RequestAsync(HttpClient http, CommandLine line, TextWriter output, TextWriter error)
    {
        var account = line.Option("account") ?? throw new UsageException("request needs --account.");
        JsonObject access;
        if (line.Option("group") is { } group)
        {
            access = new JsonObject { ["type"] = "group", ["groupName"] = group };
        }
        else if (line.Option("resource") is { } resource)
        {
            access = new JsonObject { ["type"] = "resource", ["resourceArn"] = resource, ["policyArn"] = line.Option("policy") ?? throw new UsageException("--resource needs --policy, the policy whose actions to scope.") };
        }
        else
        {
            access = new JsonObject { ["type"] = "policy", ["policyArn"] = line.Option("policy") ?? throw new UsageException("request needs --policy, --group or --resource.") };
        }

        var body = Body(("accountId", account), ("duration", Duration(line.Option("duration"))), ("reason", line.Option("reason")), ("onBehalfOf", line.Option("on-behalf-of")));
        body["access"] = access;
        return await SendAsync(http, HttpMethod.Post, "api/requests", body, output, error);
    }

    private static async Task<int> DecideAsync(HttpClient http, CommandLine line, string decision, TextWriter output, TextWriter error)
    {
        var body = Body(("decision", decision), ("duration", Duration(line.Option("duration"))), ("comment", line.Option("comment")));
        return await SendAsync(http, HttpMethod.Post, $"api/requests/{line.Id()}/decision", body, output, error);
    }

    private static async Task<int> ShowAsync(HttpClient http, CommandLine line, TextWriter output, TextWriter error) =>
        await SendAsync(http, HttpMethod.Get, $"api/requests/{line.Id()}", null, output, error);

    private static async Task<int> ListAsync(HttpClient http, CommandLine line, TextWriter output, TextWriter error)
    {
        var query = new StringBuilder("api/requests?pageSize=50");
        if (line.Option("status") is { } status)
        {
            query.Append("&status=").Append(Uri.EscapeDataString(status));
        }

        if (line.Flag("mine"))
        {
            query.Append("&mine=true");
        }

        using var response = await http.GetAsync(query.ToString());
        if (!response.IsSuccessStatusCode)
        {
            return await RefusedAsync(response, error);
        }

        var page = await response.Content.ReadFromJsonAsync<JsonObject>(Json);
        foreach (var item in page!["items"]!.AsArray())
        {
            await output.WriteLineAsync(Summary(item!.AsObject()));
        }

        return 0;
    }

    private static async Task<int> AuditAsync(HttpClient http, CommandLine line, TextWriter output, TextWriter error)
    {
        using var response = await http.GetAsync($"api/requests/{line.Id()}/audit");
        if (!response.IsSuccessStatusCode)
        {
            return await RefusedAsync(response, error);
        }

        var audit = await response.Content.ReadFromJsonAsync<JsonObject>(Json);
        foreach (var e in audit!["items"]!.AsArray())
        {
            await output.WriteLineAsync($"{e!["at"]}  {e["type"],-20} {e["actor"]} via {e["channel"]}  {e["detail"]}");
        }

        return 0;
    }

    private static async Task<int> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body, TextWriter output, TextWriter error)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return await RefusedAsync(response, error);
        }

        var json = await response.Content.ReadFromJsonAsync<JsonObject>(Json);
        await output.WriteLineAsync(Summary(json!));
        return 0;
    }

    /// <summary>Prints the server's problem (RFC 7807): its detail and any field errors.</summary>
    private static async Task<int> RefusedAsync(HttpResponseMessage response, TextWriter error)
    {
        var text = await response.Content.ReadAsStringAsync();
        var message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            if (JsonNode.Parse(text) is JsonObject problem)
            {
                message += $": {problem["detail"] ?? problem["title"]}";
                if (problem["errors"] is JsonObject errors)
                {
                    message += string.Concat(errors.Select(e => $"\n  {e.Key}: {string.Join("; ", e.Value!.AsArray().Select(v => v!.ToString()))}"));
                }
            }
        }
        catch (JsonException)
        {
        }

        await error.WriteLineAsync(message);
        return 1;
    }

    private static string Summary(JsonObject r)
    {
        var access = r["access"]!.AsObject();
        var what = access["type"]!.ToString() switch
        {
            "group" => $"group {access["groupName"]}",
            "resource" => $"{access["policyArn"]} on {access["resourceArn"]}",
            _ => access["policyArn"]!.ToString(),
        };
        var until = r["expiresAt"] is { } expires ? $" until {expires}" : string.Empty;
        return $"{r["id"]}  {r["status"],-12} {r["requester"]}  {what} in {r["accountId"]} for {r["grantedDuration"] ?? r["duration"]}{until}";
    }

    /// <summary>Accepts the short forms people type (30m, 1h, 1d) and sends ISO 8601.</summary>
    private static string? Duration(string? text) =>
        text is null ? null : AccessDuration.TryParse(text, out var d) ? AccessDuration.Format(d) : throw new UsageException($"'{text}' is not a duration (30m, 1h, 8h, 1d or ISO 8601 such as PT2H).");

    private static JsonObject Body(params (string Key, string? Value)[] fields)
    {
        var body = new JsonObject();
        foreach (var (key, value) in fields)
        {
            if (value is not null)
            {
                body[key] = value;
            }
        }

        return body;
    }
}

internal sealed class UsageException(string message) : Exception(message);

/// <summary><c>aw [--global options] command [ID] [--options]</c>; options take one value, except flags.</summary>
internal sealed class CommandLine
{
    private static readonly HashSet<string> Flags = ["mine"];
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = [];
    private readonly List<string> _positional = [];

    public string? Command => _positional.Count > 0 ? _positional[0] : null;

    public static CommandLine Parse(string[] args)
    {
        var line = new CommandLine();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                line._positional.Add(arg);
                continue;
            }

            var name = arg[2..];
            if (Flags.Contains(name))
            {
                line._flags.Add(name);
            }
            else if (i + 1 < args.Length)
            {
                line._options[name] = args[++i];
            }
            else
            {
                throw new UsageException($"--{name} needs a value.");
            }
        }

        return line;
    }

    public string? Option(string name) => _options.GetValueOrDefault(name);

    public bool Flag(string name) => _flags.Contains(name);

    /// <summary>The request id after the command; only letters and digits, so it cannot change the route.</summary>
    public string Id()
    {
        var id = _positional.Count > 1 ? _positional[1] : throw new UsageException($"{Command} needs a request id.");
        return id.All(char.IsAsciiLetterOrDigit) ? id : throw new UsageException($"'{id}' is not a request id.");
    }
}
