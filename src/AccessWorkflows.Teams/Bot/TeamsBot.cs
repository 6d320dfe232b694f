using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AccessWorkflows.Hosting;
using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Teams.Auth;
using AccessWorkflows.Teams.Cards;
using AccessWorkflows.Teams.Connector;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Teams.Bot;

/// <summary>
/// <c>POST /api/teams/messages</c> (SPEC 8, 10): the token is checked before the body is read; then the body is read
/// up to a cap, parsed, and its serviceUrl compared with the token's claim. Only then does anything happen.
/// </summary>
internal sealed partial class TeamsBot
{
    private const string SearchResponseType = "application/vnd.microsoft.search.searchResponse";
    private readonly BotTokenValidator _validator;
    private readonly IBotConnector _connector;
    private readonly ConversationDirectory _directory;
    private readonly IAccessRequestCommands _commands;
    private readonly IRequestStore _requests;
    private readonly IMessageRefStore _messageRefs;
    private readonly ITeamsRequestOptions _requestOptions;
    private readonly TeamsWorkQueue _queue;
    private readonly TeamsNotificationChannel _cards;
    private readonly TimeProvider _time;
    private readonly TeamsOptions _options;
    private readonly ILogger<TeamsBot> _logger;
    private readonly RequestSnapshots _snapshots;

    public TeamsBot(
        BotTokenValidator validator,
        IBotConnector connector,
        ConversationDirectory directory,
        IAccessRequestCommands commands,
        IRequestStore requests,
        IMessageRefStore messageRefs,
        ITeamsRequestOptions requestOptions,
        TeamsWorkQueue queue,
        TeamsNotificationChannel cards,
        TimeProvider time,
        IOptions<TeamsOptions> options,
        ILogger<TeamsBot> logger)
    {
        _validator = validator;
        _connector = connector;
        _directory = directory;
        _commands = commands;
        _requests = requests;
        _messageRefs = messageRefs;
        _requestOptions = requestOptions;
        _queue = queue;
        _cards = cards;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _snapshots = new RequestSnapshots(time);
    }

    public async Task HandleAsync(HttpContext http)
    {
        var cancellationToken = http.RequestAborted;
        var token = await _validator.ValidateAsync(http.Request.Headers.Authorization.ToString(), cancellationToken);
        if (!token.IsValid)
        {
            Log.ActivityRefused(_logger, token.Problem ?? "invalid token");
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await Problem(http, StatusCodes.Status401Unauthorized, "A valid Bot Framework token is required.");
            return;
        }

        var body = await HttpBodies.ReadCappedAsync(http.Request, _options.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            Log.ActivityRefused(_logger, "body too large");
            await Problem(http, StatusCodes.Status413PayloadTooLarge, "The activity is too large.");
            return;
        }

        Activity? activity;
        try
        {
            activity = JsonSerializer.Deserialize<Activity>(body, Activity.Json);
        }
        catch (JsonException)
        {
            activity = null;
        }

        if (activity?.Type is null || activity.ServiceUrl is null)
        {
            Log.ActivityRefused(_logger, "not an activity");
            await Problem(http, StatusCodes.Status400BadRequest, "The body is not a Bot Framework activity.");
            return;
        }

        if (!string.Equals(token.ServiceUrl?.TrimEnd('/'), activity.ServiceUrl.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            Log.ServiceUrlMismatch(_logger, activity.ServiceUrl);
            await Problem(http, StatusCodes.Status403Forbidden, "The activity's serviceUrl does not match the token.");
            return;
        }

        if (token.Endorsements is { Count: > 0 } endorsements && !endorsements.Contains(activity.ChannelId ?? string.Empty))
        {
            Log.ActivityRefused(_logger, "signing key not endorsed for the channel");
            await Problem(http, StatusCodes.Status403Forbidden, "The token's key is not endorsed for this channel.");
            return;
        }

        // The per-identity rate limit, once the token and the activity are verified: the partition is the sender Teams
        // vouched for (its Entra object id, else its Teams user id). Conversation updates carry no person to limit.
        if (activity.Type is "invoke" or "message"
            && (activity.From?.AadObjectId ?? activity.From?.Id) is { } sender
            && http.RequestServices.GetService<IdentityRateLimiter>()?.TryAcquire("teams:" + sender) is { } limited)
        {
            await limited.ExecuteAsync(http);
            return;
        }

        switch (activity.Type)
        {
            case "invoke":
                await InvokeAsync(http, activity, cancellationToken);
                return;
            case "message":
                await MessageAsync(activity, cancellationToken);
                break;
            case "conversationUpdate":
            case "installationUpdate":
                await _directory.LearnAsync(activity, cancellationToken);
                break;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
    }

    private async Task InvokeAsync(HttpContext http, Activity a, CancellationToken cancellationToken)
    {
        switch (a.Name)
        {
            case "adaptiveCard/action":
                var action = JsonText.Node(a.Value, "action");
                var verb = JsonText.String(JsonText.Node(action, "verb"), 64);
                var data = JsonText.Node(action, "data") as JsonObject ?? [];
                var card = await ActAsync(a, verb, data, cancellationToken);
                await Json(http, TeamsCards.InvokeResponse(card));
                return;
            case "application/search":
                await Json(http, await SearchAsync(a, cancellationToken));
                return;
            default:
                await Json(http, new JsonObject
                {
                    ["statusCode"] = 400,
                    ["type"] = "application/vnd.microsoft.error",
                    ["value"] = new JsonObject { ["code"] = "NotSupported", ["message"] = "This invoke is not supported." },
                });
                return;
        }
    }

    private async Task MessageAsync(Activity a, CancellationToken cancellationToken)
    {
        if (a.BaseConversationId is null)
        {
            return;
        }

        // Action.Submit (the fallback of each Action.Execute) arrives as a message whose value is the card's data.
        if (a.Value is JsonObject submitted && JsonText.String(submitted["verb"], 64) is { } verb)
        {
            var card = await ActAsync(a, verb, submitted, cancellationToken);
            var reply = TeamsCards.Message(card);
            if (a.ReplyToId is not null)
            {
                reply["replyToId"] = a.ReplyToId;
            }

            await _connector.SendAsync(a.ServiceUrl!, a.BaseConversationId, reply, cancellationToken);
            return;
        }

        // Every message teaches the bot who its sender is, so it can reach them later.
        var email = await _directory.IdentifyAsync(a, cancellationToken);
        var text = MentionRegex().Replace(a.Text ?? string.Empty, string.Empty).Trim();
        JsonObject response;
        if (string.Equals(text, "request", StringComparison.OrdinalIgnoreCase))
        {
            response = email is null
                ? Unidentified()
                : TeamsCards.RequestForm(_requestOptions.Accounts(email));
        }
        else
        {
            response = TeamsCards.Notice("AccessWorkflows", "Type \"request\" to ask for temporary AWS access. Approvers get cards in their channel.");
        }

        await _connector.SendAsync(a.ServiceUrl!, a.BaseConversationId, TeamsCards.Message(response), cancellationToken);
    }

    /// <summary>One card action (Action.Execute invoke or Action.Submit fallback): who clicked is looked up, never read
    /// from the card; the command decides whether it counts; the answer is the card as this person should now see it.</summary>
    private async Task<JsonObject> ActAsync(Activity a, string? verb, JsonObject data, CancellationToken cancellationToken)
    {
        var email = await _directory.IdentifyAsync(a, cancellationToken);
        if (email is null)
        {
            return Unidentified();
        }

        if (verb == CardVerbs.SubmitRequest)
        {
            return await SubmitAsync(a, email, data, cancellationToken);
        }

        var requestId = JsonText.String(data["requestId"], 128);
        if (requestId is null || !RequestIdRegex().IsMatch(requestId))
        {
            return TeamsCards.Notice("Unknown request", "This card does not name a request.", isError: true);
        }

        var decisionId = "teams:" + (a.Id ?? Guid.NewGuid().ToString("n"));
        switch (verb)
        {
            case CardVerbs.Approve:
            case CardVerbs.Deny:
                {
                    var kind = verb == CardVerbs.Approve ? DecisionKind.Approve : DecisionKind.Deny;
                    TimeSpan? duration = null;
                    if (JsonText.String(data["duration"], 32) is { Length: > 0 } durationText)
                    {
                        if (!AccessDuration.TryParse(durationText, out var parsed))
                        {
                            return await ViewAsync(requestId, email, new CardBanner("That duration is not valid.", true), cancellationToken);
                        }

                        duration = parsed;
                    }

                    var comment = JsonText.String(data["comment"], 2000);
                    comment = string.IsNullOrWhiteSpace(comment) ? null : CardText.Plain(comment, 1000, keepLineBreaks: true);
                    return await DecideAsync(requestId, email, kind, kind == DecisionKind.Approve ? duration : null, comment, decisionId, cancellationToken);
                }

            case CardVerbs.Relinquish:
                {
                    var result = await _commands.RelinquishAsync(requestId, email, Channels.Teams, cancellationToken);
                    Log.ActionHandled(_logger, verb, email, requestId, result.Outcome);
                    var request = result.Request ?? await _requests.GetAsync(requestId, cancellationToken);
                    var banner = result.Accepted
                        ? new CardBanner("Access is being given back.", false)
                        : new CardBanner(result.Problem ?? "Relinquish was not accepted.", true);
                    return request is not null && IsRequesterSide(request, email)
                        ? TeamsCards.Requester(request, banner)
                        : TeamsCards.Notice("Relinquish", banner.Text, banner.IsError);
                }

            case CardVerbs.Extend:
                {
                    var current = await _requests.GetAsync(requestId, cancellationToken);
                    var result = current is not null && ExtensionRules.ButtonStep(current) is { } step
                        ? await _commands.ExtendAsync(requestId, email, step, "extended from Teams", Channels.Teams, decisionId, cancellationToken)
                        : CommandResult.Refused(CommandOutcome.Conflict, current is null ? $"There is no request {requestId}." : $"Rule '{current.RuleName}' allows no extensions.", current);
                    return RequesterAnswer(CardVerbs.Extend, email, requestId, result, "Extension asked: the card shows the new expiry once it applies.", "The extension was not accepted.");
                }

            case CardVerbs.Cancel:
                {
                    var result = await _commands.CancelAsync(requestId, email, Channels.Teams, cancellationToken);
                    if (result.Accepted && await _requests.GetAsync(requestId, cancellationToken) is { } now)
                    {
                        result = result with { Request = now };
                    }

                    return RequesterAnswer(CardVerbs.Cancel, email, requestId, result, "Your request is being cancelled.", "The request was not cancelled.");
                }

            case CardVerbs.ApproveExtension:
            case CardVerbs.DenyExtension:
                {
                    var kind = verb == CardVerbs.ApproveExtension ? DecisionKind.Approve : DecisionKind.Deny;
                    var result = await _commands.DecideAsync(requestId, email, kind, null, null, Channels.Teams, decisionId, cancellationToken);
                    Log.ActionHandled(_logger, verb, email, requestId, result.Outcome);
                    var banner = result.Accepted
                        ? new CardBanner(kind == DecisionKind.Approve ? "Extension approved." : "Extension denied.", false)
                        : new CardBanner(result.Problem ?? "Your decision was not accepted.", true);
                    return await ViewAsync(requestId, email, banner, cancellationToken);
                }

            case CardVerbs.Refresh:
                return await ViewAsync(requestId, email, null, cancellationToken);
            default:
                return TeamsCards.Notice("Unknown action", "This card action is not supported.", isError: true);
        }
    }

    /// <summary>
    /// An approver's Approve or Deny, answered at once (SPEC 10: the invoke is answered with the refreshed card): the
    /// decision rules are checked on the request as stored, the clicker sees the card as the decision leaves it (or the
    /// reason it does not count), and the command itself (its durable event, or the audit entry of a refusal) runs on
    /// <see cref="TeamsWorkQueue"/>, so no click waits for a durable write. A refusal's <c>decision.refused</c> entry is
    /// then batched with others (<see cref="RefusalAuditWriter"/>): a crash may lose the refusals not yet written, which
    /// changed nothing; a decision that counts is raised into its workflow by the queued command itself.
    /// </summary>
    private async Task<JsonObject> DecideAsync(string requestId, string email, DecisionKind kind, TimeSpan? duration, string? comment, string decisionId, CancellationToken cancellationToken)
    {
        // A stranger to the request (no approver, not the requester) is answered from a read at most a second old: the
        // answer only says they cannot act, and the queued command below reads the store itself (RequestSnapshots).
        var request = _snapshots.ForStranger(requestId, email);
        if (request is null)
        {
            request = await _requests.GetAsync(requestId, cancellationToken);
            if (request is null)
            {
                return TeamsCards.Notice("Unknown request", $"There is no request {requestId}.", isError: true);
            }

            _snapshots.Remember(request);
        }

        if (request.Decisions.Any(d => d.Id == decisionId))
        {
            // The same click delivered again: it counted the first time.
            return await ViewAsync(requestId, email, null, cancellationToken, request);
        }

        var approver = Grammar.NormalizeEmail(email);
        var check = DecisionRules.Check(request, Math.Max(1, request.ApprovalLevel), approver, kind, duration, comment);
        if (comment is { Length: > Grammar.MaxReasonLength })
        {
            check = CommandResult.Refused(CommandOutcome.Invalid, $"The comment is longer than {Grammar.MaxReasonLength} characters.", request);
        }

        // Projected before the command is queued, from the request as read: the answer never depends on how far the
        // queued command has got.
        var approverLevel = DecisionRules.LevelOf(request, approver, Math.Max(1, request.ApprovalLevel));
        var projected = check.Accepted
            ? DecisionProjection.Apply(request, new DecisionRecord(decisionId, approver, kind, duration, comment, Channels.Teams, approverLevel, _time.GetUtcNow()))
            : request;
        var verb = kind == DecisionKind.Approve ? CardVerbs.Approve : CardVerbs.Deny;
        var accepted = check.Accepted;
        var queued = _queue.TryEnqueue(new WorkItem("teams-" + verb, async (services, ct) =>
        {
            // The clicker has their answer: a refusal's audit entry may be batched with others (DecideAnsweredAsync).
            var result = await services.GetRequiredService<IAccessRequestCommands>().DecideAnsweredAsync(requestId, approver, kind, duration, comment, Channels.Teams, decisionId, ct);
            Log.ActionHandled(_logger, verb, approver, requestId, result.Outcome);

            // A second delivery of a click that already counted is refused as no longer pending: it did count.
            var counted = result.Accepted || result.Request?.Decisions.Any(d => d.Id == decisionId) == true;
            if (counted != accepted)
            {
                await CorrectAsync(requestId, approver, kind, result, ct);
            }
        }));
        if (!queued)
        {
            Log.QueueFull(_logger);
            return TeamsCards.Notice("Busy", "AccessWorkflows is busy and did not take your decision; please try again in a minute.", isError: true);
        }

        if (!accepted)
        {
            return await ViewAsync(requestId, email, new CardBanner(check.Problem ?? "Your decision was not accepted.", true), cancellationToken, projected, allowActions: false);
        }

        var banner = new CardBanner(kind == DecisionKind.Approve ? "Your approval was accepted." : "Your denial was accepted.", false);
        return await ViewAsync(requestId, email, banner, cancellationToken, projected);
    }

    /// <summary>The command did not confirm what the clicker was shown (the request changed in between): every card of
    /// the request is replaced with it as it now stands, and a refused clicker is told why in their personal chat.</summary>
    private async Task CorrectAsync(string requestId, string approver, DecisionKind kind, CommandResult result, CancellationToken cancellationToken)
    {
        Log.ClickAnswerCorrected(_logger, requestId, result.Outcome);
        if (await _requests.GetAsync(requestId, cancellationToken) is { } current)
        {
            await _cards.RefreshAsync(current, cancellationToken);
        }

        if (!result.Accepted && await _directory.PersonalChatAsync(approver, cancellationToken) is { } chat)
        {
            var what = kind == DecisionKind.Approve ? "approval" : "denial";
            var notice = TeamsCards.Notice("Not counted", $"Your {what} of request {requestId} was not counted: {result.Problem}", isError: true);
            await _connector.SendAsync(chat.ServiceUrl, chat.ConversationId, TeamsCards.Message(notice), cancellationToken);
        }
    }

    /// <summary>The approval card as <paramref name="email"/> should see it: approvers who may still decide get the
    /// buttons, other participants a read-only card, anyone else no details at all.</summary>
    private async Task<JsonObject> ViewAsync(string requestId, string email, CardBanner? banner, CancellationToken cancellationToken, AccessRequest? known = null, bool allowActions = true)
    {
        var request = known ?? await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return TeamsCards.Notice("Unknown request", banner?.Text ?? "There is no such request.", isError: true);
        }

        var isApprover = request.Approval.Levels.Any(l => l.Approvers.Contains(email, StringComparer.OrdinalIgnoreCase));
        if (!isApprover && !IsRequesterSide(request, email))
        {
            return TeamsCards.Notice("Access request", banner?.Text ?? "Only the approvers of this request can act on it.", isError: true);
        }

        var mayDecide = allowActions && request.IsApproverAtOrBelow(email, Math.Max(1, request.ApprovalLevel))
            && (request.Approval.AllowSelfApproval || !IsRequesterSide(request, email))
            && !request.Decisions.Any(d => string.Equals(d.Approver, email, StringComparison.OrdinalIgnoreCase));
        var refreshIds = await TeamsNotificationChannel.ApproverUserIdsAsync(_directory, request, cancellationToken);
        return TeamsCards.Approval(request, withActions: mayDecide, refreshIds, banner);
    }

    private async Task<JsonObject> SubmitAsync(Activity a, string email, JsonObject data, CancellationToken cancellationToken)
    {
        string? Field(string name, int max = 2048) => JsonText.String(data[name], max) is { Length: > 0 } s ? s.Trim() : null;

        var type = Field("accessType", 16);
        AccessSpec? access = type switch
        {
            "policy" => AccessSpec.Policy(Field("policyArn") ?? string.Empty),
            "group" => AccessSpec.Group(Field("groupName") ?? string.Empty),
            "resource" => AccessSpec.Resource(Field("resourceArn") ?? string.Empty, Field("policyArn") ?? string.Empty),
            _ => null,
        };
        var body = new NewAccessRequest(Field("accountId", 32), access, Field("duration", 32), Field("reason", Grammar.MaxReasonLength + 1), null);
        var result = await _commands.SubmitAsync(email, body, Channels.Teams, "teams:" + (a.Id ?? Guid.NewGuid().ToString("n")), cancellationToken);
        Log.ActionHandled(_logger, CardVerbs.SubmitRequest, email, result.Request?.Id ?? "-", result.Outcome);
        if (result.Accepted && result.Request is { } request)
        {
            if (a.ReplyToId is not null && a.BaseConversationId is not null)
            {
                // The form's message becomes the requester's card: later notifications replace it in place.
                await _messageRefs.SaveAsync(
                    new MessageRef(request.Id, Channels.Teams, request.Requester, TeamsNotificationChannel.RequesterKind, TeamsNotificationChannel.Address(a.ServiceUrl!, a.BaseConversationId), a.ReplyToId),
                    cancellationToken);
            }

            return TeamsCards.Submitted(request);
        }

        var problem = result.Problem ?? "The request was not accepted.";
        if (result.Errors is { Count: > 0 } errors)
        {
            problem += " " + string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}"));
        }

        return TeamsCards.RequestForm(_requestOptions.Accounts(email), new CardBanner(problem, true));
    }

    private async Task<JsonObject> SearchAsync(Activity a, CancellationToken cancellationToken)
    {
        var email = await _directory.IdentifyAsync(a, cancellationToken);
        var dataset = JsonText.String(JsonText.Node(a.Value, "dataset"), 64) ?? string.Empty;
        var query = JsonText.String(JsonText.Node(a.Value, "queryText"), 256) ?? string.Empty;
        var top = JsonText.Node(a.Value, "queryOptions", "top") is JsonValue t && t.TryGetValue<int>(out var n) ? n : 15;
        var accountId = JsonText.String(JsonText.Node(a.Value, "data", "accountId"), 32);
        IReadOnlyList<(string Title, string Value)> results = email is null
            ? []
            : await _requestOptions.SearchAsync(email, dataset, accountId, query, top, cancellationToken);
        return new JsonObject
        {
            ["statusCode"] = 200,
            ["type"] = SearchResponseType,
            ["value"] = new JsonObject
            {
                ["results"] = new JsonArray([.. results.Select(r => (JsonNode)new JsonObject { ["title"] = CardText.Plain(r.Title, 300), ["value"] = r.Value })]),
            },
        };
    }

    /// <summary>The requester's card after one of their own commands (extend, cancel), with what happened on top;
    /// anyone else only sees the outcome.</summary>
    private JsonObject RequesterAnswer(string verb, string email, string requestId, CommandResult result, string accepted, string refused)
    {
        Log.ActionHandled(_logger, verb, email, requestId, result.Outcome);
        var banner = result.Accepted ? new CardBanner(accepted, false) : new CardBanner(result.Problem ?? refused, true);
        return result.Request is { } request && IsRequesterSide(request, email)
            ? TeamsCards.Requester(request, banner)
            : TeamsCards.Notice("Access request", banner.Text, banner.IsError);
    }

    private static bool IsRequesterSide(AccessRequest request, string email) =>
        string.Equals(request.Requester, email, StringComparison.OrdinalIgnoreCase)
        || string.Equals(request.OnBehalfOf, email, StringComparison.OrdinalIgnoreCase);

    private static JsonObject Unidentified() =>
        TeamsCards.Notice("Who are you?", "Teams did not tell us your email address, so nothing was done.", isError: true);

    private static async Task Json(HttpContext http, JsonNode body)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(body.ToJsonString(Activity.Json), http.RequestAborted);
    }

    private static async Task Problem(HttpContext http, int status, string title)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/problem+json";
        var problem = new JsonObject { ["type"] = "about:blank", ["title"] = title, ["status"] = status };
        await http.Response.WriteAsync(problem.ToJsonString(), http.RequestAborted);
    }

    [GeneratedRegex(@"<at>[^<]{0,200}</at>", RegexOptions.IgnoreCase)]
    private static partial Regex MentionRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_.:-]{1,128}$")]
    private static partial Regex RequestIdRegex();
}
