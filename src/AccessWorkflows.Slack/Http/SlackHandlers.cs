using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Hosting;
using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using AccessWorkflows.Slack.Api;
using AccessWorkflows.Slack.Blocks;
using AccessWorkflows.Slack.Options;
using AccessWorkflows.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace AccessWorkflows.Slack.Http;

/// <summary>
/// The three Slack routes. Each verifies the request before reading anything of it, answers within Slack's
/// 3 seconds (queuing the slow work), and takes the clicking person's identity only from <c>users.info</c> of the
/// user id in the signed payload.
/// </summary>
public sealed partial class SlackHandlers
{
    /// <summary>A modal submission must be answered within Slack's 3 seconds; this leaves room for the network.</summary>
    private static readonly TimeSpan SubmissionBudget = TimeSpan.FromMilliseconds(2500);
    private static readonly TimeSpan OptionsBudget = TimeSpan.FromMilliseconds(2000);
    private const int MaxRequestIdLength = 128;
    private const string NoEmail = "Your Slack profile has no email address, so AccessWorkflows cannot tell who you are.";

    private readonly SlackRequestVerifier _verifier;
    private readonly SlackWorkQueue _queue;
    private readonly SlackUserDirectory _users;
    private readonly ISlackRequestChoices _choices;
    private readonly ILogger<SlackHandlers> _logger;

    public SlackHandlers(SlackRequestVerifier verifier, SlackWorkQueue queue, SlackUserDirectory users, ISlackRequestChoices choices, ILogger<SlackHandlers> logger)
    {
        _verifier = verifier;
        _queue = queue;
        _users = users;
        _choices = choices;
        _logger = logger;
    }

    /// <summary><c>POST /api/slack/commands</c>: <c>/access</c> opens the request modal.</summary>
    public async Task<IResult> CommandAsync(HttpContext context)
    {
        var (form, refusal) = await ReadVerifiedFormAsync(context);
        if (form is null)
        {
            return refusal!;
        }

        var command = Field(form, "command");
        var userId = Field(form, "user_id");
        var triggerId = Field(form, "trigger_id");
        if (Limited(context, Field(form, "team_id"), userId) is { } limited)
        {
            return limited;
        }

        if (command != "/access" || string.IsNullOrEmpty(userId) || string.IsNullOrEmpty(triggerId))
        {
            return Results.Json(new { response_type = "ephemeral", text = "Use /access to request AWS access." });
        }

        if (!_queue.TryEnqueue(new WorkItem("open-request-modal", (sp, ct) => OpenRequestModalAsync(sp, userId, triggerId, ct))))
        {
            return Busy();
        }

        return Results.Ok();
    }

    /// <summary><c>POST /api/slack/interactions</c>: button clicks (queued) and modal submissions (answered inline,
    /// because field errors go back in the response).</summary>
    public async Task<IResult> InteractionAsync(HttpContext context)
    {
        var (payload, refusal) = await ReadVerifiedPayloadAsync(context);
        if (payload is null)
        {
            return refusal!;
        }

        if (Limited(context, SlackPayload.Str(payload, "team", "id"), SlackPayload.Str(payload, "user", "id")) is { } limited)
        {
            return limited;
        }

        return SlackPayload.Str(payload, "type") switch
        {
            "block_actions" => BlockActions(payload),
            "view_submission" => await ViewSubmissionAsync(context, payload),
            _ => Results.Ok(),
        };
    }

    /// <summary><c>POST /api/slack/options</c>: <c>external_select</c> suggestions filtered by the rules for the
    /// person typing.</summary>
    public async Task<IResult> OptionsAsync(HttpContext context)
    {
        var (payload, refusal) = await ReadVerifiedPayloadAsync(context);
        if (payload is null)
        {
            return refusal!;
        }

        var options = new JsonArray();
        var userId = SlackPayload.Str(payload, "user", "id");
        if (Limited(context, SlackPayload.Str(payload, "team", "id"), userId) is { } limited)
        {
            return limited;
        }

        var actionId = SlackPayload.Str(payload, "action_id");
        var query = SlackPayload.Str(payload, "value") ?? string.Empty;
        var state = SlackPayload.Obj(payload, "view", "state");
        var accountId = SlackPayload.StateValue(state, SlackModals.AccountBlock, SlackModals.AccountBlock);
        AccessKind? kind = actionId switch
        {
            SlackModals.PolicyBlock => AccessKind.Policy,
            SlackModals.GroupBlock => AccessKind.Group,
            SlackModals.ResourceBlock => AccessKind.Resource,
            _ => null,
        };
        if (SlackPayload.Str(payload, "type") == "block_suggestion" && userId is not null && kind is not null
            && Grammar.IsAccountId(accountId) && query.Length <= 256)
        {
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            budget.CancelAfter(OptionsBudget);
            try
            {
                var email = await _users.EmailOfAsync(userId, budget.Token);
                if (email is not null)
                {
                    var candidates = await _choices.CandidatesAsync(email, accountId!, kind.Value, query, budget.Token);
                    foreach (var c in candidates.Where(c => c.Length <= 150).Take(100))
                    {
                        options.Add(SlackModals.Option(c, c));
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SlackApiException or HttpRequestException)
            {
                LogOptionsFailed(_logger, e);
            }
        }

        return Results.Json(new JsonObject { ["options"] = options });
    }

    private IResult BlockActions(JsonNode payload)
    {
        var action = SlackPayload.FirstAction(payload);
        var actionId = SlackPayload.Str(action, "action_id");
        var requestId = SlackPayload.Str(action, "value");
        var userId = SlackPayload.Str(payload, "user", "id");
        if (userId is null || requestId is null || requestId.Length > MaxRequestIdLength)
        {
            return Results.Ok();
        }

        var channelId = SlackPayload.Str(payload, "channel", "id") ?? SlackPayload.Str(payload, "container", "channel_id");
        var triggerId = SlackPayload.Str(payload, "trigger_id");
        var actionTs = SlackPayload.Str(action, "action_ts") ?? SlackPayload.Str(payload, "container", "message_ts") ?? string.Empty;
        var state = SlackPayload.Obj(payload, "state");

        // What the approver typed in the message's optional comment input travels with Approve, and pre-fills Deny's.
        var comment = SlackPayload.StateValue(state, SlackMessages.CommentBlock, SlackMessages.CommentAction)?.Trim();
        comment = string.IsNullOrEmpty(comment) ? null : comment;
        WorkItem? item = actionId switch
        {
            SlackMessages.ApproveAction => new("approve", (sp, ct) =>
            {
                var selected = SlackPayload.StateValue(state, SlackMessages.DecideBlock, SlackMessages.DurationAction);
                TimeSpan? duration = AccessDuration.TryParse(selected, out var d) ? d : null;
                var decisionId = $"slack:{requestId}:{userId}:approve:{actionTs}";
                return DecideAsync(sp, requestId, userId, channelId, DecisionKind.Approve, duration, comment, decisionId, ct);
            }),
            SlackMessages.DenyAction when triggerId is not null => new("open-deny-modal", (sp, ct) => OpenDenyModalAsync(sp, requestId, userId, channelId, triggerId, comment, ct)),
            SlackMessages.RelinquishAction => new("relinquish", (sp, ct) => RelinquishAsync(sp, requestId, userId, channelId, ct)),
            SlackMessages.ExtendAction => new("extend", (sp, ct) => ExtendAsync(sp, requestId, userId, channelId, $"slack:{requestId}:{userId}:extend:{actionTs}", ct)),
            SlackMessages.CancelAction => new("cancel", (sp, ct) => CancelAsync(sp, requestId, userId, channelId, ct)),
            SlackMessages.ApproveExtensionAction => new("approve-extension", (sp, ct) =>
                DecideAsync(sp, requestId, userId, channelId, DecisionKind.Approve, null, null, $"slack:{requestId}:{userId}:extension-approve:{actionTs}", ct)),
            SlackMessages.DenyExtensionAction => new("deny-extension", (sp, ct) =>
                DecideAsync(sp, requestId, userId, channelId, DecisionKind.Deny, null, null, $"slack:{requestId}:{userId}:extension-deny:{actionTs}", ct)),
            _ => null,
        };
        if (item is not null && !_queue.TryEnqueue(item))
        {
            return Busy();
        }

        return Results.Ok();
    }

    private async Task<IResult> ViewSubmissionAsync(HttpContext context, JsonNode payload)
    {
        var view = SlackPayload.Obj(payload, "view");
        var userId = SlackPayload.Str(payload, "user", "id");
        var viewId = SlackPayload.Str(view, "id");
        if (userId is null || viewId is null)
        {
            return Results.Ok();
        }

        using var budget = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        budget.CancelAfter(SubmissionBudget);
        try
        {
            return SlackPayload.Str(view, "callback_id") switch
            {
                SlackModals.RequestCallback => await SubmitRequestAsync(context.RequestServices, userId, viewId, SlackPayload.Obj(view, "state"), budget.Token),
                SlackModals.DenyCallback => await SubmitDenyAsync(context.RequestServices, userId, viewId, view!, budget.Token),
                _ => Results.Ok(),
            };
        }
        catch (Exception e) when (e is OperationCanceledException or SlackApiException or HttpRequestException)
        {
            LogSubmissionFailed(_logger, e);
            var block = SlackPayload.Str(view, "callback_id") == SlackModals.DenyCallback ? SlackModals.CommentBlock : SlackModals.ReasonBlock;
            return Errors(new Dictionary<string, string> { [block] = "Could not reach Slack or the access service in time; please submit again." });
        }
    }

    private async Task<IResult> SubmitRequestAsync(IServiceProvider services, string userId, string viewId, JsonNode? state, CancellationToken ct)
    {
        string? Value(string block) => SlackPayload.StateValue(state, block, block);
        var errors = new Dictionary<string, string>();
        var accountId = Value(SlackModals.AccountBlock);
        var type = Value(SlackModals.AccessTypeBlock) ?? "policy";
        var policy = Value(SlackModals.PolicyBlock);
        var group = Value(SlackModals.GroupBlock);
        var resource = Value(SlackModals.ResourceBlock);
        var duration = Value(SlackModals.DurationBlock);
        var reason = Value(SlackModals.ReasonBlock);

        if (!Grammar.IsAccountId(accountId))
        {
            errors[SlackModals.AccountBlock] = "Choose an account.";
        }

        AccessSpec? access = null;
        switch (type)
        {
            case "policy":
                if (string.IsNullOrEmpty(policy))
                {
                    errors[SlackModals.PolicyBlock] = "Choose the policy to attach.";
                }
                else
                {
                    access = AccessSpec.Policy(policy);
                }

                break;
            case "group":
                if (string.IsNullOrEmpty(group))
                {
                    errors[SlackModals.GroupBlock] = "Choose the group to join.";
                }
                else
                {
                    access = AccessSpec.Group(group);
                }

                break;
            case "resource":
                if (string.IsNullOrEmpty(resource))
                {
                    errors[SlackModals.ResourceBlock] = "Choose the resource.";
                }

                if (string.IsNullOrEmpty(policy))
                {
                    errors[SlackModals.PolicyBlock] = "Choose the policy whose actions to allow on the resource.";
                }

                if (errors.Count == 0)
                {
                    access = AccessSpec.Resource(resource!, policy!);
                }

                break;
            default:
                errors[SlackModals.AccessTypeBlock] = "Choose policy, group or resource.";
                break;
        }

        if (access is not null)
        {
            foreach (var (path, message) in access.Validate())
            {
                errors.TryAdd(BlockFor(path, type), message);
            }
        }

        if (!AccessDuration.TryParse(duration, out _))
        {
            errors[SlackModals.DurationBlock] = "Use a duration such as 30m, 1h, 8h, 1d or PT2H.";
        }

        if (reason is { Length: > Grammar.MaxReasonLength })
        {
            errors[SlackModals.ReasonBlock] = $"At most {Grammar.MaxReasonLength} characters.";
        }

        if (errors.Count > 0)
        {
            return Errors(errors);
        }

        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            return Errors(new Dictionary<string, string> { [SlackModals.AccountBlock] = NoEmail });
        }

        var commands = services.GetRequiredService<IAccessRequestCommands>();
        var result = await commands.SubmitAsync(email, new NewAccessRequest(accountId, access, duration, string.IsNullOrWhiteSpace(reason) ? null : reason, null), Channels.Slack, "slack-view:" + viewId, ct);
        switch (result.Outcome)
        {
            case CommandOutcome.Accepted:
                LogSubmitted(_logger, result.Request?.Id ?? "?");
                return Results.Ok();
            case CommandOutcome.Invalid when result.Errors is { Count: > 0 }:
                var mapped = new Dictionary<string, string>();
                foreach (var (path, message) in result.Errors)
                {
                    var block = BlockFor(path, type);
                    mapped[block] = mapped.TryGetValue(block, out var earlier) ? $"{earlier} {message}" : message;
                }

                return Errors(mapped);
            case CommandOutcome.Forbidden:
                var target = type switch { "group" => SlackModals.GroupBlock, "resource" => SlackModals.ResourceBlock, _ => SlackModals.PolicyBlock };
                return Errors(new Dictionary<string, string> { [target] = result.Problem ?? "No rule allows this request." });
            default:
                return Errors(new Dictionary<string, string> { [SlackModals.AccountBlock] = result.Problem ?? "The request was not accepted." });
        }
    }

    private async Task<IResult> SubmitDenyAsync(IServiceProvider services, string userId, string viewId, JsonObject view, CancellationToken ct)
    {
        var requestId = SlackPayload.Str(SlackPayload.ParseObject(SlackPayload.Str(view, "private_metadata")), "requestId");
        if (requestId is null || requestId.Length > MaxRequestIdLength)
        {
            return Results.Ok();
        }

        var comment = SlackPayload.StateValue(SlackPayload.Obj(view, "state"), SlackModals.CommentBlock, SlackModals.CommentBlock)?.Trim();
        if (string.IsNullOrEmpty(comment))
        {
            return Errors(new Dictionary<string, string> { [SlackModals.CommentBlock] = "Say why, for the requester." });
        }

        if (comment.Length > Grammar.MaxReasonLength)
        {
            return Errors(new Dictionary<string, string> { [SlackModals.CommentBlock] = $"At most {Grammar.MaxReasonLength} characters." });
        }

        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            return Errors(new Dictionary<string, string> { [SlackModals.CommentBlock] = NoEmail });
        }

        var commands = services.GetRequiredService<IAccessRequestCommands>();
        var result = await commands.DecideAsync(requestId, email, DecisionKind.Deny, null, comment, Channels.Slack, $"slack:{requestId}:{userId}:deny:{viewId}", ct);
        if (!result.Accepted)
        {
            LogRefused(_logger, DecisionKind.Deny, requestId, result.Outcome);
            return Errors(new Dictionary<string, string> { [SlackModals.CommentBlock] = $"Your denial was not counted: {result.Problem}" });
        }

        return Results.Ok();
    }

    private async Task OpenRequestModalAsync(IServiceProvider services, string userId, string triggerId, CancellationToken ct)
    {
        var email = await _users.EmailOfAsync(userId, ct);
        var accounts = email is null ? [] : await _choices.AccountsAsync(email, ct);
        await services.GetRequiredService<ISlackApi>().OpenViewAsync(triggerId, SlackModals.Request(accounts), ct);
    }

    /// <summary>Deny asks for a comment in a modal, but only of someone whose denial would count: anyone else is told
    /// why, ephemerally, and sees no modal (and so no request details).</summary>
    private async Task OpenDenyModalAsync(IServiceProvider services, string requestId, string userId, string? channelId, string triggerId, string? comment, CancellationToken ct)
    {
        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            await TellAsync(services, channelId, userId, NoEmail, ct);
            return;
        }

        var request = await services.GetRequiredService<IRequestStore>().GetAsync(requestId, ct);
        var refusal = request is null
            ? $"There is no request {requestId}."
            : DecisionRules.Check(request, Math.Max(1, request.ApprovalLevel), Grammar.NormalizeEmail(email), DecisionKind.Deny, null) is { Accepted: false } check ? check.Problem : null;
        if (refusal is not null)
        {
            LogDenyModalRefused(_logger, requestId);
            await TellAsync(services, channelId, userId, $"You cannot deny this request: {Mrkdwn.Escape(refusal)}", ct);
            return;
        }

        await services.GetRequiredService<ISlackApi>().OpenViewAsync(
            triggerId,
            SlackModals.Deny(new AccessRequestSummary(requestId), new JsonObject { ["requestId"] = requestId, ["channel"] = channelId }.ToJsonString(), comment),
            ct);
    }

    private async Task DecideAsync(IServiceProvider services, string requestId, string userId, string? channelId, DecisionKind decision, TimeSpan? duration, string? comment, string decisionId, CancellationToken ct)
    {
        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            await TellAsync(services, channelId, userId, NoEmail, ct);
            return;
        }

        var result = await services.GetRequiredService<IAccessRequestCommands>().DecideAsync(requestId, email, decision, duration, comment, Channels.Slack, decisionId, ct);
        if (!result.Accepted && result.Request?.Decisions.Any(d => d.Id == decisionId) == true)
        {
            // A second delivery of a click that already counted: nothing to tell anyone.
            return;
        }

        if (!result.Accepted)
        {
            LogRefused(_logger, decision, requestId, result.Outcome);
            await TellAsync(services, channelId, userId, $"Your {(decision == DecisionKind.Approve ? "approval" : "denial")} was not counted: {Mrkdwn.Escape(result.Problem)}", ct);
        }
    }

    private async Task RelinquishAsync(IServiceProvider services, string requestId, string userId, string? channelId, CancellationToken ct)
    {
        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            await TellAsync(services, channelId, userId, NoEmail, ct);
            return;
        }

        var result = await services.GetRequiredService<IAccessRequestCommands>().RelinquishAsync(requestId, email, Channels.Slack, ct);
        if (!result.Accepted)
        {
            LogRelinquishRefused(_logger, requestId, result.Outcome);
            await TellAsync(services, channelId, userId, $"Could not relinquish: {Mrkdwn.Escape(result.Problem)}", ct);
        }
    }

    /// <summary>The reminder's Extend button: the requester (verified through users.info) extends by the rule's
    /// <c>maxExtendBy</c>; a refusal (limits, not active, not theirs) is told to them ephemerally.</summary>
    private async Task ExtendAsync(IServiceProvider services, string requestId, string userId, string? channelId, string extensionId, CancellationToken ct)
    {
        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            await TellAsync(services, channelId, userId, NoEmail, ct);
            return;
        }

        var request = await services.GetRequiredService<IRequestStore>().GetAsync(requestId, ct);
        var step = request is null ? null : ExtensionRules.ButtonStep(request);
        var result = step is { } by
            ? await services.GetRequiredService<IAccessRequestCommands>().ExtendAsync(requestId, email, by, "extended from the Slack reminder", Channels.Slack, extensionId, ct)
            : CommandResult.Refused(CommandOutcome.Conflict, request is null ? $"There is no request {requestId}." : $"Rule '{request.RuleName}' allows no extensions.");
        if (!result.Accepted)
        {
            LogCommandRefused(_logger, "extend", requestId, result.Outcome);
            await TellAsync(services, channelId, userId, $"Could not extend: {Mrkdwn.Escape(result.Problem)}", ct);
        }
    }

    /// <summary>The Cancel button of the requester's own "received" DM.</summary>
    private async Task CancelAsync(IServiceProvider services, string requestId, string userId, string? channelId, CancellationToken ct)
    {
        var email = await _users.EmailOfAsync(userId, ct);
        if (email is null)
        {
            await TellAsync(services, channelId, userId, NoEmail, ct);
            return;
        }

        var result = await services.GetRequiredService<IAccessRequestCommands>().CancelAsync(requestId, email, Channels.Slack, ct);
        if (!result.Accepted)
        {
            LogCommandRefused(_logger, "cancel", requestId, result.Outcome);
            await TellAsync(services, channelId, userId, $"Could not cancel: {Mrkdwn.Escape(result.Problem)}", ct);
        }
    }

    /// <summary>The per-identity rate limit, taken once the request is verified: the partition is the signed payload's
    /// Slack team and user. Null when allowed (or when no user is named: those requests do nothing).</summary>
    private static IResult? Limited(HttpContext context, string? teamId, string? userId) =>
        userId is null ? null : context.RequestServices.GetService<IdentityRateLimiter>()?.TryAcquire($"slack:{teamId}:{userId}");

    /// <summary>An ephemeral message to the person who clicked, in the channel they clicked in.</summary>
    private static Task TellAsync(IServiceProvider services, string? channelId, string userId, string text, CancellationToken ct) =>
        channelId is null ? Task.CompletedTask : services.GetRequiredService<ISlackApi>().PostEphemeralAsync(channelId, userId, text, ct);

    private static string BlockFor(string path, string type) => path switch
    {
        _ when path.StartsWith("account", StringComparison.OrdinalIgnoreCase) => SlackModals.AccountBlock,
        _ when path.Contains("groupName", StringComparison.OrdinalIgnoreCase) => SlackModals.GroupBlock,
        _ when path.Contains("resourceArn", StringComparison.OrdinalIgnoreCase) => SlackModals.ResourceBlock,
        _ when path.Contains("policyArn", StringComparison.OrdinalIgnoreCase) => SlackModals.PolicyBlock,
        _ when path.StartsWith("access", StringComparison.OrdinalIgnoreCase) => type switch
        {
            "group" => SlackModals.GroupBlock,
            "resource" => SlackModals.ResourceBlock,
            _ => SlackModals.PolicyBlock,
        },
        _ when path.StartsWith("duration", StringComparison.OrdinalIgnoreCase) => SlackModals.DurationBlock,
        _ when path.StartsWith("reason", StringComparison.OrdinalIgnoreCase) => SlackModals.ReasonBlock,
        _ => SlackModals.AccountBlock,
    };

    private static IResult Errors(Dictionary<string, string> errors)
    {
        var map = new JsonObject();
        foreach (var (block, message) in errors)
        {
            map[block] = message;
        }

        return Results.Json(new JsonObject { ["response_action"] = "errors", ["errors"] = map });
    }

    private IResult Busy()
    {
        LogQueueFull(_logger);
        return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
    }

    private async Task<(Dictionary<string, StringValues>? Form, IResult? Refusal)> ReadVerifiedFormAsync(HttpContext context)
    {
        var (result, body) = await _verifier.VerifyAsync(context.Request, context.RequestAborted);
        if (result != SlackVerification.Valid)
        {
            LogRejected(_logger, context.Request.Path, result);
            return (null, result == SlackVerification.TooLarge
                ? Results.StatusCode(StatusCodes.Status413PayloadTooLarge)
                : Results.Unauthorized());
        }

        return (QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body!)), null);
    }

    private async Task<(JsonNode? Payload, IResult? Refusal)> ReadVerifiedPayloadAsync(HttpContext context)
    {
        var (form, refusal) = await ReadVerifiedFormAsync(context);
        if (form is null)
        {
            return (null, refusal);
        }

        try
        {
            var payload = JsonNode.Parse(Field(form, "payload") ?? string.Empty, documentOptions: SlackPayload.ParseOptions);
            return payload is JsonObject ? (payload, null) : (null, Results.BadRequest());
        }
        catch (JsonException)
        {
            return (null, Results.BadRequest());
        }
    }

    private static string? Field(Dictionary<string, StringValues> form, string name) =>
        form.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Rejected Slack request to {Path}: {Reason}")]
    private static partial void LogRejected(ILogger logger, PathString path, SlackVerification reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Slack work queue is full; refusing the interaction")]
    private static partial void LogQueueFull(ILogger logger);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Slack {Decision} on request {RequestId} refused: {Outcome}")]
    private static partial void LogRefused(ILogger logger, DecisionKind decision, string requestId, CommandOutcome outcome);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Slack relinquish of request {RequestId} refused: {Outcome}")]
    private static partial void LogRelinquishRefused(ILogger logger, string requestId, CommandOutcome outcome);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Information, Message = "Slack {Command} of request {RequestId} refused: {Outcome}")]
    private static partial void LogCommandRefused(ILogger logger, string command, string requestId, CommandOutcome outcome);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Request {RequestId} submitted from Slack")]
    private static partial void LogSubmitted(ILogger logger, string requestId);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Slack modal submission could not be completed")]
    private static partial void LogSubmissionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Information, Message = "Slack deny modal for request {RequestId} not opened: the clicker may not decide it")]
    private static partial void LogDenyModalRefused(ILogger logger, string requestId);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Slack options could not be computed")]
    private static partial void LogOptionsFailed(ILogger logger, Exception exception);
}
