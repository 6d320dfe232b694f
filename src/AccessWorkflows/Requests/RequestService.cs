using System.Security.Cryptography;
using System.Text;
using AccessWorkflows.Concurrency;
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
    /// <summary>One gate per requester and rule with limits: counting the requester's requests and recording the new
    /// one happen under it, so creates fired in parallel cannot all pass the same count. Per process: hosts that run
    /// several instances at once (Functions scale-out) can overshoot by one request per extra instance.</summary>
    private readonly KeyedLock<string> _limitLocks = new(StringComparer.Ordinal);

    private readonly AccessRules _rules;
    private readonly IRequestStore _requests;
    private readonly IAuditLog _audit;
    private readonly RefusalAuditWriter _refusals;
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
        RefusalAuditWriter refusals,
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
        _refusals = refusals;
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
            WorkflowVersion = AccessWorkflowInput.CurrentVersion,
        };

        bool created;
        if (rule.MaxPendingPerRequester is null && rule.MaxActivePerRequester is null)
        {
            created = await _requests.TryCreateAsync(request, cancellationToken);
        }
        else
        {
            using (await _limitLocks.AcquireAsync($"{requester}\n{rule.Name}", cancellationToken))
            {
                if (await LimitProblemAsync(rule, requester, request.Id, cancellationToken) is { } limit)
                {
                    LogLimitReached(_logger, requester, rule.Name, limit);
                    return new SubmitResult(CommandOutcome.LimitReached, Problem: limit);
                }

                created = await _requests.TryCreateAsync(request, cancellationToken);
            }
        }

        if (!created)
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

    /// <summary>
    /// The per-requester limits of <paramref name="rule"/> (SPEC 13), counted over the requester's requests of that
    /// rule other than <paramref name="exceptId"/> (a retried submission is not counted against itself): pending ones
    /// against <c>maxPendingPerRequester</c>, approved and active ones against <c>maxActivePerRequester</c>. Null
    /// when both allow one more.
    /// </summary>
    private async Task<string?> LimitProblemAsync(AccessRule rule, string requester, string exceptId, CancellationToken cancellationToken)
    {
        if (rule.MaxPendingPerRequester is { } maxPending)
        {
            var pending = await CountAsync(RequestStatus.Pending);
            if (pending >= maxPending)
            {
                return $"You have {pending} pending request(s) under rule '{rule.Name}'; its maxPendingPerRequester is {maxPending}. Cancel one or wait for a decision.";
            }
        }

        if (rule.MaxActivePerRequester is { } maxActive)
        {
            var active = await CountAsync(RequestStatus.Active) + await CountAsync(RequestStatus.Approved);
            if (active >= maxActive)
            {
                return $"You have {active} active grant(s) under rule '{rule.Name}'; its maxActivePerRequester is {maxActive}. Relinquish one or wait for it to expire.";
            }
        }

        return null;

        async Task<int> CountAsync(RequestStatus status)
        {
            var count = 0;
            string? token = null;
            do
            {
                var page = await _requests.QueryAsync(new RequestQuery(status, requester, PageSize: 200, ContinuationToken: token), cancellationToken);
                count += page.Items.Count(r => r.RuleName == rule.Name && r.Id != exceptId);
                token = page.ContinuationToken;
            }
            while (token is not null);
            return count;
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
    public Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default) =>
        DecideAsync(requestId, approverEmail, decision, duration, comment, channel, decisionId, batchRefusalAudit: false, cancellationToken);

    /// <remarks>As <see cref="DecideAsync(string, string, DecisionKind, TimeSpan?, string?, string, string, CancellationToken)"/>,
    /// except that a refusal's <c>decision.refused</c> entry goes to <see cref="RefusalAuditWriter"/> (written with
    /// others, after this returns; a crash before then loses it, a clean stop does not). A decision that counts is
    /// raised into the workflow before this returns, as always.</remarks>
    public Task<CommandResult> DecideAnsweredAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default) =>
        DecideAsync(requestId, approverEmail, decision, duration, comment, channel, decisionId, batchRefusalAudit: true, cancellationToken);

    private async Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, bool batchRefusalAudit, CancellationToken cancellationToken)
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
        if (request.Status == RequestStatus.Active && request.PendingExtension is not null && request.WorkflowVersion >= 4)
        {
            return await DecideExtensionAsync(request, approver, decision, comment, channel, decisionId, batchRefusalAudit, cancellationToken);
        }

        if (request.Status != RequestStatus.Pending)
        {
            return await TooLateAsync(request, approver, decision, channel, decisionId, cancellationToken);
        }

        var check = DecisionRules.Check(request, DecisionRules.DecidableLevel(request), approver, decision, duration, comment);
        if (!check.Accepted)
        {
            await AuditRefusalAsync(new AuditEvent($"{requestId}:refused:{decisionId}", requestId, _time.GetUtcNow(), RefusalAuditWriter.RefusedType, approver, channel, check.Problem), batchRefusalAudit, cancellationToken);
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

    /// <summary>A decision while the grant is active decides its pending extension (SPEC 13): any approver of the rule
    /// may, the requester only when the rule allows self-approval. The workflow checks it again on arrival.</summary>
    private async Task<CommandResult> DecideExtensionAsync(AccessRequest request, string approver, DecisionKind decision, string? comment, string channel, string decisionId, bool batchRefusalAudit, CancellationToken cancellationToken)
    {
        var check = ExtensionRules.CheckDecision(request, approver);
        if (!check.Accepted)
        {
            await AuditRefusalAsync(new AuditEvent($"{request.Id}:refused:{decisionId}", request.Id, _time.GetUtcNow(), RefusalAuditWriter.RefusedType, approver, channel, check.Problem), batchRefusalAudit, cancellationToken);
            return check;
        }

        var evt = new DecisionEvent(decisionId, approver, decision, null, comment, channel, _time.GetUtcNow());
        await _durable.RaiseEventAsync(request.Id, WorkflowNames.DecisionEvent, evt, cancellationToken);
        return CommandResult.Ok(request);
    }

    /// <remarks>Checked here so the caller hears at once why an ask does not count (SPEC 13: 409 beyond
    /// <c>maxExtendBy</c> or <c>maxExtensions</c>); the workflow checks it again and applies it.</remarks>
    public async Task<CommandResult> ExtendAsync(string requestId, string requesterEmail, TimeSpan duration, string? reason, string channel, string extensionId, CancellationToken cancellationToken = default)
    {
        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return CommandResult.Refused(CommandOutcome.NotFound, $"There is no request {requestId}.");
        }

        if (reason is { Length: > Grammar.MaxReasonLength })
        {
            return CommandResult.Refused(CommandOutcome.Invalid, $"The reason is longer than {Grammar.MaxReasonLength} characters.", request);
        }

        if (request.Extensions.Any(e => e.Id == extensionId))
        {
            return CommandResult.Ok(request); // the same ask delivered again
        }

        var caller = Grammar.NormalizeEmail(requesterEmail);
        var check = ExtensionRules.CheckAsk(request, caller, duration);
        if (check.Accepted && request.WorkflowVersion < 4)
        {
            check = CommandResult.Refused(CommandOutcome.Conflict, "This grant was started before extensions existed and cannot be extended.", request);
        }

        if (!check.Accepted)
        {
            return check;
        }

        var ask = new ExtendCommand(extensionId, caller, duration, string.IsNullOrWhiteSpace(reason) ? null : reason.Trim(), channel, _time.GetUtcNow());
        await _durable.RaiseEventAsync(requestId, WorkflowNames.ExtendEvent, ask, cancellationToken);
        LogExtensionAsked(_logger, requestId, caller, AccessDuration.Format(duration));
        return CommandResult.Ok(request);
    }

    /// <remarks>
    /// The cancel is first recorded on the stored request while it is pending (<see cref="AccessRequest.RequestCancel"/>),
    /// where it is ordered against the approval: the store refuses an approval after it, and refuses it after an
    /// approval. Only then is the workflow told. The result's request is <c>cancelled</c> when the workflow already
    /// ended it by the time this returns (hosts answer 200), else still pending (202).
    /// </remarks>
    public async Task<CommandResult> CancelAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default)
    {
        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return CommandResult.Refused(CommandOutcome.NotFound, $"There is no request {requestId}.");
        }

        var caller = Grammar.NormalizeEmail(requesterEmail);
        if (caller != request.Requester)
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "Only the requester can cancel this request.", request);
        }

        if (request.Status == RequestStatus.Pending && request.WorkflowVersion < 4)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, "This request was started before cancelling existed; ask an admin to revoke it.", request);
        }

        var marked = request.Status == RequestStatus.Pending
            ? await _requests.UpdateAsync(requestId, r => r.RequestCancel(), cancellationToken)
            : request;
        if (marked.Status != RequestStatus.Pending)
        {
            return marked.Status == RequestStatus.Cancelled
                ? CommandResult.Ok(marked)
                : CommandResult.Refused(CommandOutcome.Conflict, DecisionRules.OutcomeText(marked) + "; it can no longer be cancelled.", marked);
        }

        await _durable.RaiseEventAsync(requestId, WorkflowNames.CancelEvent, new EndCommand(Guid.NewGuid().ToString("N"), caller, channel, null, _time.GetUtcNow()), cancellationToken);
        LogCancelAsked(_logger, requestId);
        return CommandResult.Ok(await _requests.GetAsync(requestId, cancellationToken) ?? marked);
    }

    /// <summary>A refused decision's audit entry: appended before the caller is answered, or, for a caller that answered
    /// the person already (<paramref name="batched"/>), queued to <see cref="RefusalAuditWriter"/>.</summary>
    private Task AuditRefusalAsync(AuditEvent refusal, bool batched, CancellationToken cancellationToken) =>
        batched ? _refusals.WriteAsync(refusal, cancellationToken) : _audit.AppendAsync(refusal, cancellationToken);

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

    /// <remarks>
    /// The review is written here, not by the workflow: it comes after the incident, usually when the grant has
    /// long ended and the orchestration is finished, and it changes nothing of the grant's life cycle. The store's
    /// optimistic update makes it happen once: of two reviewers at the same moment, the second gets 409.
    /// </remarks>
    public async Task<CommandResult> ReviewAsync(string requestId, string reviewerEmail, string? comment, string channel, CancellationToken cancellationToken = default)
    {
        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return CommandResult.Refused(CommandOutcome.NotFound, $"There is no request {requestId}.");
        }

        var reviewer = Grammar.NormalizeEmail(reviewerEmail);
        if (reviewer == request.Requester || reviewer == request.OnBehalfOf)
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "You cannot review your own break-glass request.", request);
        }

        if (!_rules.IsAdmin(reviewer) && !request.IsApproverOfAnyLevel(reviewer))
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "Only an approver of the request's rule or an admin can review it.", request);
        }

        var text = comment?.Trim();
        if (string.IsNullOrEmpty(text) || text.Length > Grammar.MaxReasonLength)
        {
            return new CommandResult(CommandOutcome.Invalid, $"A review needs a comment of 1 to {Grammar.MaxReasonLength} characters.", request, new Dictionary<string, string> { ["comment"] = "is required" });
        }

        if (!request.BreakGlass)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, "The request was not approved through break-glass; there is nothing to review.", request);
        }

        var review = new BreakGlassReview(reviewer, _time.GetUtcNow(), text);
        var reviewed = false;
        var updated = await _requests.UpdateAsync(
            requestId,
            r =>
            {
                reviewed = r.MarkReviewed(review);
                return reviewed;
            },
            cancellationToken);
        if (!reviewed)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"The break-glass request was already reviewed by {updated.Review?.By}.", updated);
        }

        await _audit.AppendAsync(
            new AuditEvent($"{requestId}:reviewed", requestId, review.At, "request.reviewed", reviewer, channel, text),
            cancellationToken);
        LogReviewed(_logger, requestId, reviewer);
        return CommandResult.Ok(updated);
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

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Request by {Requester} under rule {Rule} refused: {Limit}")]
    private static partial void LogLimitReached(ILogger logger, string requester, string rule, string limit);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Extension of request {RequestId} by {Duration} asked by {Requester}")]
    private static partial void LogExtensionAsked(ILogger logger, string requestId, string requester, string duration);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Cancel of request {RequestId} recorded; the workflow ends it")]
    private static partial void LogCancelAsked(ILogger logger, string requestId);
    [LoggerMessage(EventId = 1121, Level = LogLevel.Information, Message = "Break-glass request {RequestId} reviewed by {Reviewer}")]
    private static partial void LogReviewed(ILogger logger, string requestId, string reviewer);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Decision by {Approver} on request {RequestId} arrived after it was {Status}: recorded as too late")]
    private static partial void LogDecisionTooLate(ILogger logger, string requestId, string approver, string status);
}
