using AccessWorkflows.Durable;
using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Workflow;

/// <summary>
/// The life of one access request (SPEC 6), top to bottom: received → approved automatically, by being on call,
/// or by people → provisioned → active until expiry, relinquish or revoke → revoked. It is the source of truth
/// of the process and does no I/O: every effect is an activity. It re-runs from history on every step, so it
/// takes time and ids only from the context.
/// </summary>
public sealed class AccessRequestOrchestrator
{
    private const string System = "system";

    private readonly IOrchestrationContext _context;
    private readonly AccessWorkflowInput _input;
    private readonly ILogger _logger;
    private readonly NotificationLanes _lanes;
    private AccessRequest _request;

    /// <summary>The pending wait for the next decision event; it outlives the approval phase (version 3), so
    /// decisions that arrive after the outcome can be recorded as too late instead of vanishing.</summary>
    private Task<DecisionEvent>? _decision;

    /// <summary>Ids of the decisions already handled: the same click delivered twice counts once.</summary>
    private readonly HashSet<string> _seenDecisionIds = new(StringComparer.Ordinal);

    /// <summary>Version 4: the requester's cancel, waited for while pending.</summary>
    private Task<EndCommand>? _cancel;

    private AccessRequestOrchestrator(IOrchestrationContext context, AccessWorkflowInput input)
    {
        _context = context;
        _input = input;
        _request = input.Request;
        _logger = context.CreateReplaySafeLogger(typeof(AccessRequestOrchestrator).FullName!);
        _lanes = new NotificationLanes(context, input.Channels);
    }

    /// <summary>The orchestrator function both hosts register under <see cref="WorkflowNames.Orchestrator"/>.</summary>
    public static Task<AccessWorkflowResult> RunAsync(IOrchestrationContext context, AccessWorkflowInput input)
        => new AccessRequestOrchestrator(context, input).RunAsync();

    private async Task<AccessWorkflowResult> RunAsync()
    {
        if (_input.Revoking is { } revoking)
        {
            // A new execution of a revocation that kept failing: nothing else is left to do.
            return await RevokeThenFinishAsync(revoking);
        }

        // Registered once and never cancelled: an admin may revoke while pending, provisioning or active.
        var revoke = _context.WaitForExternalEvent<EndCommand>(WorkflowNames.RevokeEvent);
        if (_input.Version >= 4)
        {
            _cancel = _context.WaitForExternalEvent<EndCommand>(WorkflowNames.CancelEvent);
        }

        Notify(NotificationKind.Received);

        var approval = await AutomaticApprovalAsync() ?? await CollectDecisionsAsync(revoke);
        if (approval.Outcome != RequestStatus.Approved)
        {
            return await FinishAsync(approval.Outcome, approval.By, approval.Channel, approval.Comment);
        }

        _request = await ApplyAsync(Change(RequestChangeKind.Approved, approval.By, approval.Channel) with
        {
            GrantedDuration = approval.Duration,
            ApprovedBy = approval.By,
        });
        if (_input.Version >= 4 && _request.Status == RequestStatus.Pending)
        {
            // The store refused the approval: the requester's cancel got there first. Nothing is provisioned.
            return await FinishCancelledAsync();
        }

        if (_input.Version >= 3)
        {
            await RecordLateDecisionsAsync();
        }

        if (_input.Version >= 4 && _request.BreakGlass)
        {
            // Everyone who could have approved, every admin and the rule's extra destinations, before provisioning.
            Notify(NotificationKind.BreakGlass, approval.By, approval.Comment);
        }

        Notify(NotificationKind.Approved, approval.By, approval.Comment);

        string userName;
        try
        {
            userName = await _context.CallActivityAsync<string>(WorkflowNames.ProvisionActivity, Grant(null), RetryPolicies.Provision);
        }
        catch (TaskFailedException failure)
        {
            // Whatever was partly granted comes off before the request is reported failed.
            return await RevokeThenFinishAsync(new RevocationInProgress(
                Grant(null), RequestStatus.Failed, System, Channels.System, $"Provisioning failed: {failure.FailureDetails.ErrorMessage}", Round: 1));
        }

        var grantedAt = Now;
        var expiresAt = grantedAt + approval.Duration;
        _request = await ApplyAsync(Change(RequestChangeKind.Active, System, Channels.System, grantedAt) with
        {
            GrantedAt = grantedAt,
            ExpiresAt = expiresAt,
        });
        Notify(NotificationKind.Active, approval.By);

        var end = await WaitForEndAsync(expiresAt, revoke, userName);
        return await RevokeThenFinishAsync(new RevocationInProgress(Grant(userName), end.Status, end.By, end.Channel, end.Comment, Round: 1));
    }

    /// <summary>Takes the access back, then ends the request as <paramref name="revocation"/> says; or, when a round of
    /// revocation failed (version 2 on), continues as new to try again with a fresh history.</summary>
    private async Task<AccessWorkflowResult> RevokeThenFinishAsync(RevocationInProgress revocation)
    {
        if (!await DeprovisionUntilDoneAsync(revocation))
        {
            return new AccessWorkflowResult(RequestStatus.Approved, "Revocation continues in a new execution.");
        }

        var result = await FinishAsync(revocation.EndStatus, revocation.By, revocation.Channel, revocation.Comment);
        if (_input.Version >= 4)
        {
            await CollectActivityAsync(revocation.Grant);
        }

        return result;
    }

    /// <summary>
    /// Version 4: once a grant that was active has ended, waits <see cref="AccessWorkflowInput.ActivityDelay"/> on a
    /// durable timer (CloudTrail delivers events up to about 15 minutes late; the instance sleeps meanwhile), then
    /// records what the grant was used for and refreshes the channels. The record is best effort: a CloudTrail that
    /// keeps failing is logged and leaves the request as it ended.
    /// </summary>
    private async Task CollectActivityAsync(GrantInput grant)
    {
        if (grant.UserName is null || _request.GrantedAt is not { } from || _request.EndedAt is not { } to)
        {
            return; // never active: nothing was granted to look up
        }

        await Timer(to + (_input.ActivityDelay ?? AccessWorkflowInput.DefaultActivityDelay), CancellationToken.None);
        try
        {
            _request = await _context.CallActivityAsync<AccessRequest>(WorkflowNames.CollectActivityActivity, new ActivityInput(grant, from, to), RetryPolicies.Activity);
        }
        catch (TaskFailedException failure)
        {
            Log.ActivityNotCollected(_logger, _request.Id, failure.FailureDetails.ErrorMessage);
            return;
        }

        Notify(NotificationKind.ActivityCollected);
        await _lanes.DrainAsync();
    }

    /// <summary>Pre-approved rules, then on call in PagerDuty (SPEC 6.3). Null: people must decide.</summary>
    private async Task<Approval?> AutomaticApprovalAsync()
    {
        var plan = _request.Approval;
        if (plan.Auto)
        {
            return new Approval(RequestStatus.Approved, $"rule {_request.RuleName}", Channels.Rules, _request.Duration, null);
        }

        if (plan.OnCall is not { } onCall)
        {
            return null;
        }

        OnCallAnswer answer;
        try
        {
            answer = await _context.CallActivityAsync<OnCallAnswer>(
                WorkflowNames.CheckOnCallActivity, new OnCallInput(_request.Requester, onCall, Now), RetryPolicies.OnCall);
        }
        catch (TaskFailedException failure)
        {
            // An on-call directory that fails never approves: people decide.
            answer = OnCallAnswer.No(failure.FailureDetails.ErrorMessage);
        }

        if (!answer.OnCall)
        {
            Log.NotOnCall(_logger, _request.Id, answer.Detail ?? "not on call");
            return null;
        }

        var by = $"on call in schedule {answer.ScheduleId}";
        var duration = _request.Duration < onCall.Duration ? _request.Duration : onCall.Duration;
        await ApplyAsync(Change(RequestChangeKind.Decision, Channels.PagerDuty, Channels.PagerDuty) with
        {
            Decision = new DecisionRecord(NewId(), Channels.PagerDuty, DecisionKind.Approve, duration, by, Channels.PagerDuty, 0, Now),
        });
        return new Approval(RequestStatus.Approved, by, Channels.PagerDuty, duration, null);
    }

    /// <summary>
    /// Prompts level 1, escalates level by level, and waits for decisions until enough approvals, one deny, an
    /// admin's revoke, or the end of the approval window (SPEC 6.4, 6.5).
    /// </summary>
    private async Task<Approval> CollectDecisionsAsync(Task<EndCommand> revoke)
    {
        var plan = _request.Approval;
        var level = 0;
        var approvals = new Dictionary<string, DecisionRecord>(StringComparer.OrdinalIgnoreCase);

        // Version 4: the approvals of the stages already passed; they count toward the grant, never again in a stage.
        var passedStages = new List<DecisionRecord>();

        using var timers = new CancellationTokenSource();
        var window = Timer(Now + plan.ApprovalWindow, timers.Token);
        _decision = _context.WaitForExternalEvent<DecisionEvent>(WorkflowNames.DecisionEvent);

        Task? escalation = await NotifyNextLevelAsync();
        try
        {
            while (true)
            {
                Task[] waits = escalation is null ? [_decision, window, revoke] : [_decision, window, revoke, escalation];
                var winner = await Task.WhenAny(_cancel is null ? waits : [_cancel, .. waits]);
                if (winner == _cancel)
                {
                    var command = await _cancel;
                    return new Approval(RequestStatus.Cancelled, command.By, command.Channel, default, command.Comment);
                }

                if (winner == revoke)
                {
                    var command = await revoke;
                    return new Approval(RequestStatus.Revoked, command.By, command.Channel, default, command.Comment);
                }

                if (winner == window)
                {
                    return new Approval(RequestStatus.TimedOut, System, Channels.System, default, "Nobody decided within the approval window.");
                }

                if (winner == escalation)
                {
                    escalation = await NotifyNextLevelAsync();
                    continue;
                }

                var received = await _decision;
                _decision = _context.WaitForExternalEvent<DecisionEvent>(WorkflowNames.DecisionEvent);
                if (!_seenDecisionIds.Add(received.Id))
                {
                    continue; // the same click delivered twice counts once
                }

                var approver = Grammar.NormalizeEmail(received.Approver);
                var check = DecisionRules.Check(_request, level, approver, received.Decision, received.Duration, received.Comment);
                if (check.Accepted && received.Decision == DecisionKind.Approve && approvals.ContainsKey(approver))
                {
                    check = CommandResult.Refused(CommandOutcome.Conflict, $"{approver} already approved; each approver counts once.");
                }

                if (!check.Accepted)
                {
                    await ApplyAsync(Change(RequestChangeKind.DecisionRefused, approver, received.Channel) with
                    {
                        Detail = check.Problem,
                    });
                    continue;
                }

                if (_input.Version >= 4 && DecisionRules.IsBreakGlass(_request, approver, received.Decision))
                {
                    return await BreakGlassAsync(received, approver);
                }

                var record = new DecisionRecord(received.Id, approver, received.Decision, received.Duration, received.Comment, received.Channel, DecisionRules.LevelOf(_request, approver, level), received.At);
                _request = await ApplyAsync(Change(RequestChangeKind.Decision, approver, received.Channel) with
                {
                    Decision = record,
                });

                if (received.Decision == DecisionKind.Deny)
                {
                    return new Approval(RequestStatus.Denied, approver, received.Channel, default, received.Comment);
                }

                approvals[approver] = record;
                if (ThresholdReached(approvals.Keys, level))
                {
                    if (_input.Version >= 4 && plan.FirstLevelOfNextStage(level) is { } nextStage)
                    {
                        // This stage passed: the next one is asked, from its first level, with its own escalation.
                        passedStages.AddRange(approvals.Values);
                        approvals.Clear();
                        Notify(NotificationKind.DecisionRecorded, approver, received.Comment);
                        level = nextStage - 1;
                        escalation = await NotifyNextLevelAsync();
                        continue;
                    }

                    var by = string.Join(", ", passedStages.Select(a => a.Approver).Concat(approvals.Keys));
                    return new Approval(RequestStatus.Approved, by, received.Channel, GrantedDuration(passedStages.Concat(approvals.Values)), received.Comment);
                }

                Notify(NotificationKind.DecisionRecorded, approver, received.Comment);
            }
        }
        finally
        {
            // Cancel the timers that lost, so they do not keep the instance alive.
            timers.Cancel();
        }

        async Task<Task?> NotifyNextLevelAsync()
        {
            level++;
            var (onCall, lookupProblem) = _input.Version >= 4 && plan.Levels.Single(l => l.Level == level).PagerDutyEscalationPolicy is { } policy
                ? await OnCallRespondersAsync(policy)
                : (null, null);
            _request = await ApplyAsync(Change(RequestChangeKind.Pending, System, Channels.System) with
            {
                Level = level,
                OnCallApprovers = onCall,
                Detail = lookupProblem,
            });
            Notify(NotificationKind.ApprovalRequested, level: level);

            var current = plan.Levels.Single(l => l.Level == level);
            var hasNext = plan.Levels.Any(l => l.Level == level + 1 && l.Stage == current.Stage);
            return hasNext && current.EscalateAfter is { } after ? Timer(Now + after, timers.Token) : null;
        }
    }

    /// <summary>
    /// Version 3: records, as too late, every decision event that arrived before the request left pending but was
    /// not taken by the approval phase (one sent right after the approval that was enough, say). Called right after
    /// the change that moves the request out of pending: the commands port answered 202 only for decisions it
    /// raised while the stored request was still pending, and those are in the history before that change's
    /// completion, so they are all here; later ones are answered 409 and recorded by the port under the same
    /// audit id.
    /// </summary>
    private async Task RecordLateDecisionsAsync()
    {
        _decision ??= _context.WaitForExternalEvent<DecisionEvent>(WorkflowNames.DecisionEvent);
        while (_decision.IsCompleted)
        {
            var late = await _decision;
            _decision = _context.WaitForExternalEvent<DecisionEvent>(WorkflowNames.DecisionEvent);
            if (!_seenDecisionIds.Add(late.Id))
            {
                continue;
            }

            await ApplyAsync(Change(RequestChangeKind.DecisionLate, Grammar.NormalizeEmail(late.Approver), late.Channel) with
            {
                AuditId = DecisionRules.LateAuditId(_request.Id, late.Id),
                Detail = DecisionRules.LateDetail(late.Decision, _request.Status),
            });
        }
    }

    /// <summary>
    /// Version 4: the on-call responders of a level's PagerDuty escalation policy, resolved by an activity as the level
    /// is notified and recorded with that change, so every later check (here and in the command handlers) uses the
    /// same people. A lookup that fails after its retries names nobody: the level keeps its listed approvers.
    /// </summary>
    private async Task<(IReadOnlyList<string> Emails, string? Problem)> OnCallRespondersAsync(string policy)
    {
        try
        {
            var emails = await _context.CallActivityAsync<List<string>>(
                WorkflowNames.ResolveOnCallRespondersActivity, new OnCallRespondersInput(policy, Now), RetryPolicies.OnCall);
            return ([.. emails.Where(Grammar.IsEmail).Select(Grammar.NormalizeEmail).Distinct(StringComparer.Ordinal)], null);
        }
        catch (TaskFailedException failure)
        {
            Log.OnCallLookupFailed(_logger, _request.Id, policy, failure.FailureDetails.ErrorMessage);
            return ([], $"the PagerDuty lookup of {policy} failed: {failure.FailureDetails.ErrorMessage}");
        }
    }

    /// <summary>
    /// Version 4: the requester approved their own request under the rule's <c>breakGlass</c> (the check already
    /// required a comment). The decision and the break-glass flag are recorded, and the request is approved at once
    /// for at most <c>breakGlass.maxDuration</c>, whatever its levels or stages say.
    /// </summary>
    private async Task<Approval> BreakGlassAsync(DecisionEvent received, string requester)
    {
        var duration = DecisionRules.BreakGlassDuration(_request, received.Duration);
        _request = await ApplyAsync(Change(RequestChangeKind.Decision, requester, received.Channel) with
        {
            Decision = new DecisionRecord(received.Id, requester, DecisionKind.Approve, duration, received.Comment, received.Channel, 0, received.At),
        });
        _request = await ApplyAsync(Change(RequestChangeKind.BreakGlass, requester, received.Channel) with
        {
            GrantedDuration = duration,
            Detail = received.Comment,
        });
        return new Approval(RequestStatus.Approved, requester, received.Channel, duration, received.Comment);
    }

    /// <summary>Approved when any notified level of the current stage has its <c>minApprovals</c> distinct approvals
    /// from its own approvers (a rule without stages has one).</summary>
    private bool ThresholdReached(IEnumerable<string> approvers, int notifiedLevel)
    {
        var approved = approvers.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var stage = _request.Approval.StageOf(notifiedLevel);
        return _request.Approval.Levels
            .Where(l => l.Level <= notifiedLevel && l.Stage == stage)
            .Any(l => l.Approvers.Count(approved.Contains) >= l.MinApprovals);
    }

    /// <summary>The requested duration, shortened by the shortest duration any approver chose.</summary>
    private TimeSpan GrantedDuration(IEnumerable<DecisionRecord> approvals)
    {
        var granted = _request.Duration;
        foreach (var chosen in approvals.Select(a => a.Duration).OfType<TimeSpan>())
        {
            granted = chosen < granted ? chosen : granted;
        }

        return granted;
    }

    /// <summary>Waits for expiry, a relinquish or a revoke; reminds the requester before expiry (SPEC 6.8). Version 4
    /// also takes extensions: asks from the requester and decisions on a pending one; an applied extension replaces the
    /// expiry and reminder timers with ones at the new expiry.</summary>
    private async Task<(RequestStatus Status, string By, string Channel, string? Comment)> WaitForEndAsync(DateTimeOffset expiresAt, Task<EndCommand> revoke, string userName)
    {
        var timers = new CancellationTokenSource();
        var expiry = Timer(expiresAt, timers.Token);
        var reminderAt = expiresAt - _input.ReminderLead;
        Task? reminder = reminderAt > Now ? Timer(reminderAt, timers.Token) : null;
        var relinquish = _context.WaitForExternalEvent<EndCommand>(WorkflowNames.RelinquishEvent);
        var extend = _input.Version >= 4 ? _context.WaitForExternalEvent<ExtendCommand>(WorkflowNames.ExtendEvent) : null;
        try
        {
            while (true)
            {
                Task[] waits = reminder is null ? [expiry, relinquish, revoke] : [expiry, relinquish, revoke, reminder];
                var winner = await Task.WhenAny(extend is null ? waits : [.. waits, extend, _decision!]);
                if (winner == extend || (extend is not null && winner == _decision))
                {
                    DateTimeOffset? extended;
                    if (winner == extend)
                    {
                        var ask = await extend;
                        extend = _context.WaitForExternalEvent<ExtendCommand>(WorkflowNames.ExtendEvent);
                        extended = await TakeExtensionAskAsync(ask, userName);
                    }
                    else
                    {
                        extended = await TakeExtensionDecisionAsync(userName);
                    }

                    if (extended is { } newExpiry)
                    {
                        // The old timers are cancelled, so they neither fire nor keep the instance alive.
                        timers.Cancel();
                        timers.Dispose();
                        timers = new CancellationTokenSource();
                        expiry = Timer(newExpiry, timers.Token);
                        reminderAt = newExpiry - _input.ReminderLead;
                        reminder = reminderAt > Now ? Timer(reminderAt, timers.Token) : null;
                    }

                    continue;
                }

                if (winner == reminder)
                {
                    reminder = null;
                    Notify(NotificationKind.ExpiryReminder);
                    continue;
                }

                if (winner == relinquish)
                {
                    var command = await relinquish;
                    return (RequestStatus.Relinquished, command.By, command.Channel, command.Comment);
                }

                if (winner == revoke)
                {
                    var command = await revoke;
                    return (RequestStatus.Revoked, command.By, command.Channel, command.Comment);
                }

                return (RequestStatus.Expired, System, Channels.System, null);
            }
        }
        finally
        {
            timers.Cancel();
            timers.Dispose();
        }
    }

    /// <summary>Version 4: the requester's ask to extend. Checked again here (another extension may have been applied
    /// since the port answered); applied at once, or recorded as waiting for an approver when the rule says so.
    /// Returns the new expiry when the grant was extended.</summary>
    private async Task<DateTimeOffset?> TakeExtensionAskAsync(ExtendCommand ask, string userName)
    {
        if (_request.Extensions.Any(e => e.Id == ask.Id))
        {
            return null; // the same ask delivered twice counts once
        }

        var by = Grammar.NormalizeEmail(ask.By);
        var check = ExtensionRules.CheckAsk(_request, by, ask.Duration);
        if (!check.Accepted)
        {
            await ApplyAsync(Change(RequestChangeKind.ExtensionRefused, by, ask.Channel) with { Detail = check.Problem });
            return null;
        }

        var extension = new ExtensionRecord(ask.Id, by, ask.Duration, ask.Reason, ask.Channel, ask.At);
        if (_request.Approval.Extension!.RequireApproval)
        {
            _request = await ApplyAsync(Change(RequestChangeKind.ExtensionRequested, by, ask.Channel) with { Extension = extension });
            Notify(NotificationKind.ExtensionRequested, by, ask.Reason);
            return null;
        }

        return await ApplyExtensionAsync(extension, null, by, ask.Channel, userName);
    }

    /// <summary>Version 4: a decision while the grant is active decides the pending extension; with none pending it
    /// is recorded as too late, as the commands port records it.</summary>
    private async Task<DateTimeOffset?> TakeExtensionDecisionAsync(string userName)
    {
        var received = await _decision!;
        _decision = _context.WaitForExternalEvent<DecisionEvent>(WorkflowNames.DecisionEvent);
        if (!_seenDecisionIds.Add(received.Id))
        {
            return null;
        }

        var approver = Grammar.NormalizeEmail(received.Approver);
        var check = ExtensionRules.CheckDecision(_request, approver);
        if (!check.Accepted)
        {
            await ApplyAsync(check.Outcome == CommandOutcome.Conflict
                ? Change(RequestChangeKind.DecisionLate, approver, received.Channel) with
                {
                    AuditId = DecisionRules.LateAuditId(_request.Id, received.Id),
                    Detail = DecisionRules.LateDetail(received.Decision, _request.Status),
                }
                : Change(RequestChangeKind.DecisionRefused, approver, received.Channel) with { Detail = check.Problem });
            return null;
        }

        var pending = _request.PendingExtension!;
        if (received.Decision == DecisionKind.Deny)
        {
            _request = await ApplyAsync(Change(RequestChangeKind.ExtensionDenied, approver, received.Channel) with { Extension = pending, Detail = received.Comment });
            Notify(NotificationKind.ExtensionDenied, approver, received.Comment);
            return null;
        }

        await ApplyAsync(Change(RequestChangeKind.ExtensionApproved, approver, received.Channel) with { Extension = pending, Detail = received.Comment });
        return await ApplyExtensionAsync(pending, approver, approver, received.Channel, userName);
    }

    /// <summary>Moves the IAM side first (the generated policy's own expiry), then the stored expiry, so the policy
    /// never ends before the request says it does. A grant whose policy cannot be moved keeps its expiry.</summary>
    private async Task<DateTimeOffset?> ApplyExtensionAsync(ExtensionRecord extension, string? approvedBy, string actor, string channel, string userName)
    {
        var expiresAt = _request.ExpiresAt!.Value + extension.Duration;
        try
        {
            await _context.CallActivityAsync(WorkflowNames.ExtendGrantActivity, new ExtendGrantInput(Grant(userName), expiresAt), RetryPolicies.Provision);
        }
        catch (TaskFailedException failure)
        {
            var detail = $"The grant could not be extended: {failure.FailureDetails.ErrorMessage}";
            _request = await ApplyAsync(_request.PendingExtension is null
                ? Change(RequestChangeKind.ExtensionRefused, System, Channels.System) with { Detail = detail }
                : Change(RequestChangeKind.ExtensionDenied, System, Channels.System) with { Extension = extension, Detail = detail });
            Notify(NotificationKind.ExtensionDenied, System, detail);
            return null;
        }

        _request = await ApplyAsync(Change(RequestChangeKind.ExtensionApplied, actor, channel) with
        {
            Extension = extension,
            ExpiresAt = expiresAt,
            ApprovedBy = approvedBy,
        });
        Notify(NotificationKind.Extended, actor, extension.Reason);
        return expiresAt;
    }

    /// <summary>Version 4: ends a request whose approval the store refused because the requester cancelled.</summary>
    private async Task<AccessWorkflowResult> FinishCancelledAsync()
    {
        var command = _cancel is { IsCompleted: true } ? await _cancel : null;
        return await FinishAsync(RequestStatus.Cancelled, command?.By ?? _request.Requester, command?.Channel ?? Channels.System, command?.Comment);
    }

    /// <summary>
    /// Takes access back, retrying until it succeeds: nothing may stay granted (SPEC 6.9). Each round retries with
    /// backoff; after a failed round admins are alerted and the workflow waits, durably, and tries again. True when the
    /// access is gone. From version 2 on, a failed round ends the execution instead of looping: after the pause the
    /// workflow continues as new at the next round (false), so a revocation that AWS refuses for days keeps a history
    /// of one round rather than growing by about thirty events a round. Version 1 instances keep looping in place.
    /// </summary>
    private async Task<bool> DeprovisionUntilDoneAsync(RevocationInProgress revocation)
    {
        var retry = _input.RevocationRetry ?? new RevocationRetry();
        var options = _input.Version >= 2 ? RetryPolicies.DeprovisionWith(retry.FirstRetryInterval) : RetryPolicies.Deprovision;
        var pause = _input.Version >= 2 ? retry.RoundPause : RetryPolicies.DeprovisionRoundPause;
        for (var round = revocation.Round; ; round++)
        {
            try
            {
                await _context.CallActivityAsync(WorkflowNames.DeprovisionActivity, revocation.Grant, options);
                return true;
            }
            catch (TaskFailedException failure)
            {
                Log.RevokeFailing(_logger, _request.Id, round, failure.FailureDetails.ErrorMessage);
                await ApplyAsync(Change(RequestChangeKind.RevokeFailing, System, Channels.System) with
                {
                    Detail = $"Revocation attempt round {round} failed: {failure.FailureDetails.ErrorMessage}",
                });
                Notify(NotificationKind.RevokeFailing, comment: failure.FailureDetails.ErrorMessage);
                await Timer(Now + pause, CancellationToken.None);
                if (_input.Version >= 2)
                {
                    // Deliveries in flight would be dropped by ContinueAsNew: they finish first.
                    await _lanes.DrainAsync();
                    _context.ContinueAsNew(_input with { Request = _request, Revoking = revocation with { Round = round + 1 } });
                    return false;
                }
            }
        }
    }

    private async Task<AccessWorkflowResult> FinishAsync(RequestStatus status, string by, string channel, string? comment)
    {
        _request = await ApplyAsync(Change(RequestChangeKind.Ended, by, channel) with
        {
            EndStatus = status,
            Detail = comment,
        });
        if (_input.Version >= 3)
        {
            await RecordLateDecisionsAsync();
        }

        var kind = status switch
        {
            RequestStatus.Denied => NotificationKind.Denied,
            RequestStatus.TimedOut => NotificationKind.TimedOut,
            RequestStatus.Failed => NotificationKind.Failed,
            _ => NotificationKind.Ended,
        };
        Notify(kind, by, comment);
        await _lanes.DrainAsync();
        return new AccessWorkflowResult(status, comment);
    }

    private async Task<AccessRequest> ApplyAsync(RequestChange change)
    {
        var updated = await _context.CallActivityAsync<AccessRequest>(WorkflowNames.ApplyChangeActivity, change, RetryPolicies.Store);
        _context.SetCustomStatus(new { status = updated.Status.WireName(), approvalLevel = updated.ApprovalLevel });
        return updated;
    }

    private void Notify(NotificationKind kind, string? actor = null, string? comment = null, int? level = null) =>
        _lanes.Send(new Notification { Id = NewId(), Kind = kind, Request = _request, Level = level, Actor = actor, Comment = comment, At = Now });

    private GrantInput Grant(string? userName) => new(_request.Id, _request.AccountId, _request.Grantee, _request.Access, userName);

    /// <summary>A change of this request, audited as done by <paramref name="actor"/> through <paramref name="channel"/>.</summary>
    private RequestChange Change(RequestChangeKind kind, string actor, string channel, DateTimeOffset? at = null) => new()
    {
        RequestId = _request.Id,
        Kind = kind,
        AuditId = NewId(),
        At = at ?? Now,
        Actor = actor,
        Channel = channel,
    };

    private Task Timer(DateTimeOffset fireAt, CancellationToken cancellationToken) => _context.CreateTimer(fireAt.UtcDateTime, cancellationToken);

    private DateTimeOffset Now => new(_context.CurrentUtcDateTime, TimeSpan.Zero);

    private string NewId() => _context.NewGuid().ToString("N");

    private readonly record struct Approval(RequestStatus Outcome, string By, string Channel, TimeSpan Duration, string? Comment);
}
