using System.Security.Cryptography;
using System.Text;
using AccessWorkflows.Durable;
using AccessWorkflows.Grants;
using AccessWorkflows.Notifications;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Requests;

/// <summary>Options of the workflow that hosts set from configuration (<c>AccessWorkflows:Workflow:*</c>).</summary>
public sealed class WorkflowOptions
{
    /// <summary>How long before expiry the requester is reminded.</summary>
    public TimeSpan ReminderLead { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How revocation retries while AWS refuses it: the first wait inside a round of attempts, and the pause
    /// between rounds (admins are alerted at every round). Frozen into each request's workflow when it starts.</summary>
    public RevocationRetry RevocationRetry { get; set; } = new();

    /// <summary>How long after a grant ends its CloudTrail activity is collected (<c>AccessWorkflows:Aws:ActivityDelay</c>,
    /// ISO 8601; CloudTrail delivers events within about 15 minutes). Frozen into each request's workflow.</summary>
    public TimeSpan ActivityDelay { get; set; } = AccessWorkflowInput.DefaultActivityDelay;
}

/// <summary>
/// The commands of <see cref="IAccessRequestCommands"/>: checks everything the caller can be told about at once,
/// then records and starts, or raises an event into, the request's orchestration. It never changes a request's
/// state itself: the orchestration does.
/// </summary>
public sealed partial class RequestService : IAccessRequestCommands
{
    private readonly AccessRules _rules;
    private readonly IRequestStore _requests;
    private readonly IAuditLog _audit;
    private readonly IDurableClient _durable;
    private readonly IProvisionerResolver _provisioners;
    private readonly IEnumerable<INotificationChannel> _channels;
    private readonly TimeProvider _time;
    private readonly WorkflowOptions _options;
    private readonly ILogger<RequestService> _logger;

    public RequestService(
        AccessRules rules,
        IRequestStore requests,
        IAuditLog audit,
        IDurableClient durable,
        IProvisionerResolver provisioners,
        IEnumerable<INotificationChannel> channels,
        TimeProvider time,
        IOptions<WorkflowOptions> options,
        ILogger<RequestService> logger)
    {
        _rules = rules;
        _requests = requests;
        _audit = audit;
        _durable = durable;
        _provisioners = provisioners;
        _channels = channels;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    public async Task<SubmitResult> SubmitAsync(string requesterEmail, NewAccessRequest body, string channel, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        if (!Grammar.IsEmail(requesterEmail))
        {
            return new SubmitResult(CommandOutcome.Forbidden, Problem: "The caller has no valid email.");
        }

        var requester = Grammar.NormalizeEmail(requesterEmail);
        var errors = Validate(body, out var duration);
        if (errors.Count > 0)
        {
            return new SubmitResult(CommandOutcome.Invalid, Problem: "The request is not valid.", Errors: errors);
        }

        var accountId = body.AccountId!;
        var access = body.Access!;
        if (_rules.FindAccount(accountId) is null)
        {
            return Invalid("accountId", $"Account {accountId} is not one of the configured accounts.");
        }

        var match = RuleMatcher.Match(_rules, requester, accountId, access);
        if (match is null)
        {
            return new SubmitResult(CommandOutcome.Forbidden, Problem: $"No rule allows {requester} to request {access.Describe()} in account {accountId}.");
        }

        var rule = match.Rule;
        var onBehalfOf = string.IsNullOrWhiteSpace(body.OnBehalfOf) ? null : Grammar.NormalizeEmail(body.OnBehalfOf);
        if (onBehalfOf is not null && onBehalfOf != requester)
        {
            // The grantee gets the permission, so the rule must allow them as much as the requester (SPEC 4, 12):
            // otherwise anyone allowed to ask could hand access to anyone at all.
            if (!rule.AllowOnBehalfOf)
            {
                return new SubmitResult(CommandOutcome.Forbidden, Problem: $"Rule '{rule.Name}' does not allow requests on behalf of someone else.");
            }

            if (!_rules.RequesterMatches(rule, onBehalfOf))
            {
                return new SubmitResult(CommandOutcome.Forbidden, Problem: $"Rule '{rule.Name}' does not allow {onBehalfOf} as a requester, so no one can request it for them.");
            }
        }

        var requested = duration ?? rule.DefaultDuration;
        if (requested > rule.MaxDuration)
        {
            return Invalid("duration", $"{AccessDuration.Format(requested)} exceeds the maximum of {AccessDuration.Format(rule.MaxDuration)} that rule '{rule.Name}' allows.");
        }

        var reason = string.IsNullOrWhiteSpace(body.Reason) ? null : body.Reason.Trim();
        if (rule.RequireReason && reason is null)
        {
            return Invalid("reason", $"Rule '{rule.Name}' requires a reason.");
        }

        var grantee = onBehalfOf ?? requester;
        try
        {
            await _provisioners.For(match.Account).ResolvePrincipalAsync(match.Account, grantee, access.Type, cancellationToken);
        }
        catch (PermanentProvisioningException ex)
        {
            return Invalid(onBehalfOf is null ? "requester" : "onBehalfOf", ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A passing AWS failure must not refuse the request: provisioning resolves the user again, with retries.
            LogUserLookupFailed(_logger, grantee, accountId, ex.Message);
        }

        var request = new AccessRequest
        {
            Id = idempotencyKey is null ? NewRequestId() : IdempotentRequestId(requester, idempotencyKey),
            Requester = requester,
            OnBehalfOf = onBehalfOf == requester ? null : onBehalfOf,
            AccountId = accountId,
            Access = access,
            Duration = requested,
            Reason = reason,
            RuleName = rule.Name,
            Channel = channel,
            Approval = RuleMatcher.ResolvePlan(_rules, rule),
            CreatedAt = _time.GetUtcNow(),
        };

        if (!await _requests.TryCreateAsync(request, cancellationToken))
        {
            var existing = await _requests.GetAsync(request.Id, cancellationToken);
            if (existing is null || existing.Requester != requester)
            {
                return new SubmitResult(CommandOutcome.Conflict, Problem: "A request with this idempotency key exists.");
            }

            // The first attempt may have died between recording and starting; never restart one that ran.
            if (await _durable.GetInstanceAsync(existing.Id, cancellation: cancellationToken) is null)
            {
                await StartWorkflowAsync(existing, cancellationToken);
            }

            return new SubmitResult(CommandOutcome.Accepted, existing);
        }

        await _audit.AppendAsync(
            new AuditEvent($"{request.Id}:created", request.Id, request.CreatedAt, "request.created", requester, channel, $"{access.Describe()} in {accountId} for {AccessDuration.Format(requested)} (rule {rule.Name})"
                + (request.OnBehalfOf is { } grantedTo ? $", requested by {requester} on behalf of {grantedTo}" : string.Empty)),
            cancellationToken);
        await StartWorkflowAsync(request, cancellationToken);
        return new SubmitResult(CommandOutcome.Accepted, request);
    }

    /// <summary>Starts the orchestration of a recorded request; a second start of a running one is a no-op. Also
    /// used at start-up for requests recorded by a process that died before it could start them.</summary>
    public async Task StartWorkflowAsync(AccessRequest request, CancellationToken cancellationToken = default)
    {
        var input = new AccessWorkflowInput(request, [.. _channels.Select(c => c.Name)], _options.ReminderLead, AccessWorkflowInput.CurrentVersion, _options.RevocationRetry, ActivityDelay: _options.ActivityDelay);
        try
        {
            await _durable.ScheduleNewOrchestrationInstanceAsync(WorkflowNames.Orchestrator, input, new StartOrchestrationOptions(request.Id), cancellationToken);
        }
        catch (InstanceAlreadyExistsException)
        {
        }
    }

    /// <remarks>
    /// 202 means recorded (SPEC 6.5). A decision on a request that is no longer pending is answered 409 with the
    /// outcome. One checked while pending can still lose the race with the decision that settles the request: after
    /// raising it, the request is read again, and if it has left pending without counting this decision, the
    /// decision is recorded in the audit log as too late and answered 409. Once this read has seen the request
    /// pending, the request's move out of pending is ordered after the event, and the workflow (version 3) records
    /// the event as too late itself under the same audit id.
    /// </remarks>
    public async Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default)
    {
        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return CommandResult.Refused(CommandOutcome.NotFound, $"There is no request {requestId}.");
        }

        if (comment is { Length: > Grammar.MaxReasonLength })
        {
            return CommandResult.Refused(CommandOutcome.Invalid, $"The comment is longer than {Grammar.MaxReasonLength} characters.", request);
        }

        if (request.Decisions.Any(d => d.Id == decisionId))
        {
            return CommandResult.Ok(request); // the same click delivered again: it counted the first time
        }

        var approver = Grammar.NormalizeEmail(approverEmail);
        if (request.Status != RequestStatus.Pending)
        {
            return await TooLateAsync(request, approver, decision, channel, decisionId, cancellationToken);
        }

        var check = DecisionRules.Check(request, DecisionRules.DecidableLevel(request), approver, decision, duration);
        if (!check.Accepted)
        {
            await _audit.AppendAsync(
                new AuditEvent($"{requestId}:refused:{decisionId}", requestId, _time.GetUtcNow(), "decision.refused", approver, channel, check.Problem),
                cancellationToken);
            return check;
        }

        var evt = new DecisionEvent(decisionId, approver, decision, duration, comment, channel, _time.GetUtcNow());
        await _durable.RaiseEventAsync(requestId, WorkflowNames.DecisionEvent, evt, cancellationToken);

        var after = await _requests.GetAsync(requestId, cancellationToken) ?? request;
        if (after.Status != RequestStatus.Pending && !after.Decisions.Any(d => d.Id == decisionId))
        {
            return await TooLateAsync(after, approver, decision, channel, decisionId, cancellationToken);
        }

        return CommandResult.Ok(after);
    }

    /// <summary>Records a decision that arrived after the request's outcome and answers 409 with that outcome.</summary>
    private async Task<CommandResult> TooLateAsync(AccessRequest request, string approver, DecisionKind decision, string channel, string decisionId, CancellationToken cancellationToken)
    {
        await _audit.AppendAsync(
            new AuditEvent(DecisionRules.LateAuditId(request.Id, decisionId), request.Id, _time.GetUtcNow(), "decision.late", approver, channel, DecisionRules.LateDetail(decision, request.Status)),
            cancellationToken);
        LogDecisionTooLate(_logger, request.Id, approver, request.Status.WireName());
        return DecisionRules.TooLate(request);
    }

    public async Task<CommandResult> RelinquishAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default)
    {
        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return CommandResult.Refused(CommandOutcome.NotFound, $"There is no request {requestId}.");
        }

        var caller = Grammar.NormalizeEmail(requesterEmail);
        if (caller != request.Requester && caller != request.OnBehalfOf)
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "Only the requester can relinquish this access.", request);
        }

        // Approved is provisioning: the workflow takes the relinquish as soon as the grant is active, so a requester
        // who relinquishes right after the approval is not refused for being a moment early.
        if (request.Status is not (RequestStatus.Active or RequestStatus.Approved))
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"The request is {request.Status.WireName()}, not active.", request);
        }

        await _durable.RaiseEventAsync(requestId, WorkflowNames.RelinquishEvent, new EndCommand(Guid.NewGuid().ToString("N"), caller, channel, null, _time.GetUtcNow()), cancellationToken);
        return CommandResult.Ok(request);
    }

    public async Task<CommandResult> RevokeAsync(string requestId, string adminEmail, string channel, string? comment, CancellationToken cancellationToken = default)
    {
        var caller = Grammar.NormalizeEmail(adminEmail);
        if (!_rules.IsAdmin(caller))
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "Only admins can revoke access.");
        }

        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return CommandResult.Refused(CommandOutcome.NotFound, $"There is no request {requestId}.");
        }

        if (request.Status.IsTerminal())
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"The request already ended ({request.Status.WireName()}).", request);
        }

        await _durable.RaiseEventAsync(requestId, WorkflowNames.RevokeEvent, new EndCommand(Guid.NewGuid().ToString("N"), caller, channel, comment, _time.GetUtcNow()), cancellationToken);
        return CommandResult.Ok(request);
    }

    private static Dictionary<string, string> Validate(NewAccessRequest body, out TimeSpan? duration)
    {
        var errors = new Dictionary<string, string>();
        duration = null;
        if (!Grammar.IsAccountId(body.AccountId))
        {
            errors["accountId"] = "must be a 12-digit AWS account id";
        }

        if (body.Access is null)
        {
            errors["access"] = "is required";
        }
        else
        {
            foreach (var (field, problem) in body.Access.Validate())
            {
                errors[field] = problem;
            }
        }

        if (body.Duration is not null)
        {
            if (AccessDuration.TryParse(body.Duration, out var d))
            {
                duration = d;
            }
            else
            {
                errors["duration"] = "must be an ISO 8601 duration such as PT1H (or 30m, 1h, 8h, 1d)";
            }
        }

        if (body.Reason is { Length: > Grammar.MaxReasonLength })
        {
            errors["reason"] = $"must be at most {Grammar.MaxReasonLength} characters";
        }

        if (!string.IsNullOrWhiteSpace(body.OnBehalfOf) && !Grammar.IsEmail(body.OnBehalfOf.Trim()))
        {
            errors["onBehalfOf"] = "must be an email";
        }

        return errors;
    }

    private static SubmitResult Invalid(string field, string problem) =>
        new(CommandOutcome.Invalid, Problem: problem, Errors: new Dictionary<string, string> { [field] = problem });

    private static string NewRequestId() => Guid.NewGuid().ToString("N");

    /// <summary>The same caller and key always name the same request, so a retried submission creates nothing new.</summary>
    private static string IdempotentRequestId(string requester, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{requester}\n{key}")))[..32];

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Could not look up the IAM user of {Email} in {AccountId} at submission ({Error}); provisioning will try again")]
    private static partial void LogUserLookupFailed(ILogger logger, string email, string accountId, string error);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Decision by {Approver} on request {RequestId} arrived after it was {Status}: recorded as too late")]
    private static partial void LogDecisionTooLate(ILogger logger, string requestId, string approver, string status);
}
