using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Cli;

/// <summary>The commands of <c>aw</c>: their options, validation and what each sends.</summary>
internal static class CliCommands
{
    public const string DefaultServer = "http://127.0.0.1:7071";

    private static readonly string[] Statuses = [.. Enum.GetValues<RequestStatus>().Select(s => s.WireName())];

    // Recursive: accepted before or after the command name (`aw --user a list` and `aw list --user a`).
    private static readonly Option<string?> ServerOption = new("--server")
    {
        Description = $"Base URL of the AccessWorkflows server [env ACCESSWORKFLOWS_SERVER, default {DefaultServer}]",
        HelpName = "url",
        Recursive = true,
    };

    private static readonly Option<string?> UserOption = new("--user")
    {
        Description = "Act as this email against a Development server (sent as X-Dev-User) [env ACCESSWORKFLOWS_USER]",
        HelpName = "email",
        Recursive = true,
    };

    private static readonly Option<string?> TokenOption = new("--token")
    {
        Description = "Bearer token for a server in Jwt mode [env ACCESSWORKFLOWS_TOKEN]",
        HelpName = "token",
        Recursive = true,
    };

    private static readonly Option<string> OutputOption = CreateOutputOption();

    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand("aw: ask for just-in-time AWS access, decide on requests and read their audit trail.")
        {
            ServerOption, UserOption, TokenOption, OutputOption,
            Request(context), List(context),
            IdCommand(context, "show", "Show one request: its state, decisions and times.", (api, route, _, ct) => api.ShowAsync(route, ct)),
            Decide(context, "approve"), Decide(context, "deny"),
            IdCommand(context, "relinquish", "End your own active grant now.", (api, route, _, ct) => api.SendAsync(HttpMethod.Post, route + "/relinquish", null, ct)),
            Extend(context),
            IdCommand(context, "cancel", "Withdraw your own pending request; nothing is granted.", (api, route, _, ct) => api.SendAsync(HttpMethod.Post, route + "/cancel", null, ct)),
            Revoke(context),
            IdCommand(context, "audit", "A request's audit trail, oldest first (admins and auditors).", (api, route, _, ct) => api.AuditAsync(route + "/audit", ct)),
            Completion(context),
        };
        return root;
    }

    private static Option<string> CreateOutputOption()
    {
        var option = new Option<string>("--output", "-o")
        {
            Description = "table (for people, times in your time zone) or json (the server's JSON, for scripts)",
            DefaultValueFactory = _ => "table",
            Recursive = true,
        };
        option.AcceptOnlyFromAmong("table", "json");
        return option;
    }

    private static Command Request(CliContext context)
    {
        var account = new Option<string>("--account") { Description = "12-digit AWS account id", Required = true, HelpName = "id" };
        var policy = new Option<string?>("--policy") { Description = "Policy ARN to attach (with --resource: the policy whose actions are scoped to it)", HelpName = "arn" };
        var group = new Option<string?>("--group") { Description = "IAM group to join", HelpName = "name" };
        var resource = new Option<string?>("--resource") { Description = "Resource ARN to scope --policy to", HelpName = "arn" };
        var duration = DurationOption("How long (30m, 1h, 8h, 1d or ISO 8601 such as PT2H); default: the rule's");
        var reason = new Option<string?>("--reason") { Description = "Why (some rules require it)", HelpName = "text" };
        var onBehalfOf = new Option<string?>("--on-behalf-of") { Description = "Ask for another person, where the rule allows it", HelpName = "email" };
        var command = new Command("request", "Ask for access.") { account, policy, group, resource, duration, reason, onBehalfOf };
        command.Validators.Add(result =>
        {
            var hasPolicy = result.GetValue(policy) is not null;
            var hasGroup = result.GetValue(group) is not null;
            var hasResource = result.GetValue(resource) is not null;
            if (hasGroup && (hasPolicy || hasResource))
            {
                result.AddError("--group cannot be combined with --policy or --resource.");
            }
            else if (hasResource && !hasPolicy)
            {
                result.AddError("--resource needs --policy, the policy whose actions to scope to it.");
            }
            else if (!hasPolicy && !hasGroup)
            {
                result.AddError("request needs --policy, --group or --resource with --policy.");
            }
        });
        command.SetAction((parse, ct) =>
        {
            var access = parse.GetValue(group) is { } g
                ? new JsonObject { ["type"] = "group", ["groupName"] = g }
                : parse.GetValue(resource) is { } r
                    ? new JsonObject { ["type"] = "resource", ["resourceArn"] = r, ["policyArn"] = parse.GetValue(policy) }
                    : new JsonObject { ["type"] = "policy", ["policyArn"] = parse.GetValue(policy) };
            var body = Body(
                ("accountId", parse.GetValue(account)),
                ("duration", CliApp.IsoDuration(parse.GetValue(duration))),
                ("reason", parse.GetValue(reason)),
                ("onBehalfOf", parse.GetValue(onBehalfOf)));
            body["access"] = access;
            return Api(context, parse).SendAsync(HttpMethod.Post, "api/requests", body, ct);
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var status = new Option<string?>("--status") { Description = "Only requests in this status", HelpName = "status" };
        status.AcceptOnlyFromAmong(Statuses);
        var mine = new Option<bool>("--mine") { Description = "Only requests you made" };
        var requester = new Option<string?>("--requester") { Description = "Only requests of this person (admins and auditors)", HelpName = "email" };
        var pageSize = new Option<int>("--page-size") { Description = "How many, newest first (1-200)", DefaultValueFactory = _ => 50 };
        pageSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 200)
            {
                r.AddError("--page-size must be between 1 and 200.");
            }
        });
        var continuation = new Option<string?>("--continuation-token") { Description = "The next page, as printed at the end of the previous one", HelpName = "token" };
        var command = new Command("list", "List requests, newest first.") { status, mine, requester, pageSize, continuation };
        command.SetAction((parse, ct) =>
        {
            var query = new List<string> { $"pageSize={parse.GetValue(pageSize)}" };
            Add(query, "status", parse.GetValue(status));
            Add(query, "requester", parse.GetValue(requester));
            Add(query, "continuationToken", parse.GetValue(continuation));
            if (parse.GetValue(mine))
            {
                query.Add("mine=true");
            }

            return Api(context, parse).ListAsync("api/requests?" + string.Join('&', query), ct);
        });
        return command;
    }

    private static Command Decide(CliContext context, string decision)
    {
        var comment = new Option<string?>("--comment") { Description = decision == "deny" ? "Why (the requester reads it)" : "A note for the record", HelpName = "text" };
        var duration = decision == "approve" ? DurationOption("Grant less than was asked for (never more than the rule's maximum)") : null;
        Option[] options = duration is null ? [comment] : [comment, duration];
        var description = decision == "approve" ? "Approve a pending request (you must be one of its approvers)." : "Deny a pending request.";
        return IdCommand(context, decision, description, (api, route, parse, ct) =>
        {
            var body = Body(("decision", decision), ("duration", duration is null ? null : CliApp.IsoDuration(parse.GetValue(duration))), ("comment", parse.GetValue(comment)));
            return api.SendAsync(HttpMethod.Post, route + "/decision", body, ct);
        }, options);
    }

    /// <summary>A command on one request: <c>aw NAME ID [options]</c>; <paramref name="run"/> gets the caller, the
    /// request's route and the parse.</summary>
    private static Command IdCommand(CliContext context, string name, string description, Func<ApiCaller, string, ParseResult, CancellationToken, Task<int>> run, params Option[] options)
    {
        var id = IdArgument();
        var command = new Command(name, description) { id };
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => run(Api(context, parse), $"api/requests/{parse.GetValue(id)}", parse, ct));
        return command;
    }

    private static Command Extend(CliContext context)
    {
        var duration = DurationOption("How much longer (added to the current expiry; at most the rule's maxExtendBy)");
        duration.Required = true;
        var reason = new Option<string?>("--reason") { Description = "Why (approvers read it when the rule requires approval)", HelpName = "text" };
        return IdCommand(context, "extend", "Extend your own active grant (the rule's extension key decides how far and whether an approver must agree).", (api, route, parse, ct) =>
            api.SendAsync(HttpMethod.Post, route + "/extend", Body(("duration", CliApp.IsoDuration(parse.GetValue(duration))), ("reason", parse.GetValue(reason))), ct), duration, reason);
    }

    private static Command Revoke(CliContext context)
    {
        var comment = new Option<string?>("--comment") { Description = "Why (recorded in the audit log)", HelpName = "text" };
        return IdCommand(context, "revoke", "End anyone's grant now (admins).", (api, route, parse, ct) =>
            api.SendAsync(HttpMethod.Post, route + "/revoke", Body(("comment", parse.GetValue(comment))), ct), comment);
    }

    private static Command Completion(CliContext context)
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or pwsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh", "pwsh");
        var command = new Command("completion", "Print the tab-completion script for a shell, e.g. `source <(aw completion bash)`.") { shell };
        command.SetAction(async (parse, ct) =>
        {
            await context.Output.WriteAsync(CompletionScripts.For(parse.GetValue(shell)!));
            return 0;
        });
        return command;
    }

    private static Argument<string> IdArgument()
    {
        var id = new Argument<string>("id") { Description = "The request id (as `aw list` prints it)" };

        // Only letters and digits, so an id can never change the route it is put in.
        id.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && !value.All(char.IsAsciiLetterOrDigit))
            {
                r.AddError($"'{value}' is not a request id.");
            }
        });
        return id;
    }

    private static Option<string?> DurationOption(string description)
    {
        var option = new Option<string?>("--duration") { Description = description, HelpName = "duration" };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } text && !AccessDuration.TryParse(text, out _))
            {
                r.AddError($"'{text}' is not a duration (30m, 1h, 8h, 1d or ISO 8601 such as PT2H).");
            }
        });
        option.CompletionSources.Add("30m", "1h", "2h", "4h", "8h", "1d");
        return option;
    }

    private static ApiCaller Api(CliContext context, ParseResult parse)
    {
        var server = parse.GetValue(ServerOption) ?? context.Environment("ACCESSWORKFLOWS_SERVER") ?? DefaultServer;
        var token = parse.GetValue(TokenOption) ?? context.Environment("ACCESSWORKFLOWS_TOKEN");
        var user = parse.GetValue(UserOption) ?? context.Environment("ACCESSWORKFLOWS_USER");
        var renderer = new Renderer(context.Output, context.TimeZone, json: parse.GetValue(OutputOption) == "json");
        return new ApiCaller(context, server, token, user, renderer);
    }

    private static void Add(List<string> query, string key, string? value)
    {
        if (value is not null)
        {
            query.Add($"{key}={Uri.EscapeDataString(value)}");
        }
    }

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
