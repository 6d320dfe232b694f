using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Webhook;

/// <summary>
/// <c>POST /api/webhook/decisions</c> (SPEC 10): an approver's decision relayed by the receiving system, signed like
/// the events it receives. Host-agnostic: both hosts hand it the <see cref="HttpContext"/>.
/// </summary>
/// <remarks>
/// Order matters (SPEC 12): the headers and the timestamp are checked first, then at most
/// <see cref="WebhookOptions.MaxBodyBytes"/> of the raw body are read and its signature checked; nothing of the
/// body is parsed before that. The approver named in the body is trusted only as far as the shared secret is: the
/// commands port still refuses anyone who is not an approver of a notified level, or the requester.
/// </remarks>
public sealed partial class WebhookDecisionHandler(IOptions<WebhookOptions> options, IAccessRequestCommands commands, TimeProvider time, ILogger<WebhookDecisionHandler> logger)
{
    private const int MaxCommentLength = 1000;
    private const int MaxIdLength = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { MaxDepth = 8 };

    private readonly WebhookOptions _options = options.Value;

    public async Task HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var secret = _options.Secret;
        if (string.IsNullOrEmpty(secret))
        {
            await ProblemAsync(context, StatusCodes.Status404NotFound, "Not found", "Webhook decisions are not enabled (AccessWorkflows:Webhook:Secret is not set).");
            return;
        }

        var request = context.Request;
        if (request.ContentLength > _options.MaxBodyBytes)
        {
            await RefuseTooLargeAsync(context);
            return;
        }

        string? timestamp = Single(request.Headers[WebhookSignature.TimestampHeader]);
        string? signature = Single(request.Headers[WebhookSignature.SignatureHeader]);
        var check = WebhookSignature.CheckTimestamp(timestamp, signature, time.GetUtcNow(), _options.SignatureTolerance, out _);
        if (check != SignatureCheck.Valid)
        {
            await RefuseUnauthenticatedAsync(context, check);
            return;
        }

        var body = await HttpBodies.ReadCappedAsync(request, _options.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            await RefuseTooLargeAsync(context);
            return;
        }

        check = WebhookSignature.Verify(secret, timestamp, signature, body, time.GetUtcNow(), _options.SignatureTolerance);
        if (check != SignatureCheck.Valid)
        {
            await RefuseUnauthenticatedAsync(context, check);
            return;
        }

        // Authenticated from here on: the body may be parsed.
        if (!TryParse(body, out var decision, out var problem))
        {
            LogRefused(logger, "malformed body");
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid decision", problem);
            return;
        }

        var result = await commands.DecideAsync(decision.RequestId, decision.Approver, decision.Kind, decision.Duration, decision.Comment, Channels.Webhook, decision.DecisionId, cancellationToken);
        LogDecided(logger, decision.RequestId, result.Outcome);
        switch (result.Outcome)
        {
            case CommandOutcome.Accepted:
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                await context.Response.WriteAsJsonAsync(
                    new AcceptedDecision(decision.RequestId, decision.DecisionId, result.Request?.Status.WireName()),
                    Json,
                    cancellationToken);
                break;
            case CommandOutcome.Forbidden:
                await ProblemAsync(context, StatusCodes.Status403Forbidden, "Decision refused", result.Problem);
                break;
            case CommandOutcome.NotFound:
                await ProblemAsync(context, StatusCodes.Status404NotFound, "Request not found", result.Problem);
                break;
            case CommandOutcome.Conflict when result.Request is { } decided:
                // The outcome the decision arrived after, so the receiving system can tell the approver.
                await Problems.Conflict(result.Problem ?? "The request is not pending.", decided.Status).ExecuteAsync(context);
                break;
            case CommandOutcome.Conflict:
                await ProblemAsync(context, StatusCodes.Status409Conflict, "Request is not pending", result.Problem);
                break;
            default:
                await ProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid decision", result.Problem);
                break;
        }
    }

    private sealed record AcceptedDecision(string RequestId, string DecisionId, string? Status);

    private sealed record DecisionBody(string? Id, string? RequestId, string? Decision, string? Approver, string? Duration, string? Comment);

    private sealed record ParsedDecision(string RequestId, string Approver, DecisionKind Kind, TimeSpan? Duration, string? Comment, string DecisionId);

    private static bool TryParse(byte[] body, out ParsedDecision decision, out string problem)
    {
        decision = null!;
        DecisionBody? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<DecisionBody>(body, Json);
        }
        catch (JsonException)
        {
            problem = "The body is not a JSON object of the documented shape.";
            return false;
        }

        if (parsed is null)
        {
            problem = "The body is empty.";
            return false;
        }

        var errors = new List<string>();
        if (parsed.RequestId is null || !RequestIdRegex().IsMatch(parsed.RequestId))
        {
            errors.Add("requestId is required (letters, digits, '-', '_', ':', '.'; at most 128)");
        }

        if (!DecisionKinds.TryParse(parsed.Decision, out var kind))
        {
            errors.Add("decision must be \"approve\" or \"deny\"");
        }

        if (!Grammar.IsEmail(parsed.Approver))
        {
            errors.Add("approver must be the approver's email");
        }

        TimeSpan? duration = null;
        if (parsed.Duration is not null)
        {
            if (AccessDuration.TryParse(parsed.Duration, out var d))
            {
                duration = d;
            }
            else
            {
                errors.Add("duration must be an ISO 8601 duration such as PT2H");
            }
        }

        if (parsed.Comment is { Length: > MaxCommentLength })
        {
            errors.Add($"comment must be at most {MaxCommentLength} characters");
        }

        if (parsed.Id is not null && (parsed.Id.Length is 0 or > MaxIdLength || parsed.Id.Any(char.IsControl)))
        {
            errors.Add($"id must be 1 to {MaxIdLength} printable characters");
        }

        if (errors.Count > 0)
        {
            problem = string.Join("; ", errors) + ".";
            return false;
        }

        // The same decision delivered twice counts once (SPEC 6.5): an explicit id names it; otherwise the body does,
        // so a receiver re-sending it with a fresh timestamp does not count it again.
        var decisionId = "webhook:" + (parsed.Id ?? Convert.ToHexStringLower(SHA256.HashData(body)));
        decision = new ParsedDecision(parsed.RequestId!, Grammar.NormalizeEmail(parsed.Approver!), kind, duration, string.IsNullOrWhiteSpace(parsed.Comment) ? null : parsed.Comment, decisionId);
        problem = "";
        return true;
    }

    private static string? Single(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 1 ? values[0] : null;

    private Task RefuseUnauthenticatedAsync(HttpContext context, SignatureCheck check)
    {
        LogRefused(logger, check.ToString());
        // One answer for every failure: which check failed is not the caller's to learn.
        return ProblemAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", "The request is not signed with the webhook secret, or its timestamp is outside the allowed window.");
    }

    private Task RefuseTooLargeAsync(HttpContext context)
    {
        LogRefused(logger, "body too large");
        return ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Payload too large", $"The body must be at most {_options.MaxBodyBytes} bytes.");
    }

    /// <summary>RFC 7807, shaped like every other route's problems.</summary>
    private static Task ProblemAsync(HttpContext context, int status, string title, string? detail)
        => Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);

    [GeneratedRegex(@"^[A-Za-z0-9_\-:.]{1,128}$")]
    private static partial Regex RequestIdRegex();

    [LoggerMessage(EventId = 7211, Level = LogLevel.Warning, Message = "Webhook decision refused: {Reason}.")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 7212, Level = LogLevel.Information, Message = "Webhook decision for request {RequestId}: {Outcome}.")]
    private static partial void LogDecided(ILogger logger, string requestId, CommandOutcome outcome);
}
