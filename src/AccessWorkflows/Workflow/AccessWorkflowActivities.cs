using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Activity;
using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Workflow;

/// <summary>
/// The activities of the workflow: all of its I/O. Each runs at least once, so each is idempotent: request
/// changes are guarded by the aggregate and keyed by audit id, deliveries by notification id, grants by the
/// ledger and by IAM calls that are safe to repeat. Both hosts call these methods from their activity functions.
/// </summary>
public sealed class AccessWorkflowActivities
{
    private readonly IRequestStore _requests;
    private readonly IAuditLog _audit;
    private readonly IEnumerable<INotificationChannel> _channels;
    private readonly IOnCallDirectory _onCall;
    private readonly GrantService _grants;
    private readonly ActivityCollector _activity;
    private readonly TimeProvider _time;
    private readonly ILogger<AccessWorkflowActivities> _logger;

    public AccessWorkflowActivities(
        IRequestStore requests,
        IAuditLog audit,
        IEnumerable<INotificationChannel> channels,
        IOnCallDirectory onCall,
        GrantService grants,
        ActivityCollector activity,
        TimeProvider time,
        ILogger<AccessWorkflowActivities> logger)
    {
        _activity = activity;
        _time = time;
        _requests = requests;
        _audit = audit;
        _channels = channels;
        _onCall = onCall;
        _grants = grants;
        _logger = logger;
    }

    /// <summary><see cref="WorkflowNames.ApplyChangeActivity"/>: applies a change to the stored request and audits it.</summary>
    public async Task<AccessRequest> ApplyChangeAsync(RequestChange change, CancellationToken cancellationToken = default)
    {
        var updated = await _requests.UpdateAsync(change.RequestId, request => Apply(request, change), cancellationToken);
        if (change.Kind == RequestChangeKind.Approved && updated.Status == RequestStatus.Pending)
        {
            // The store refused the approval because the requester cancelled first: nothing was approved to audit.
            Log.ChangeApplied(_logger, change.RequestId, change.Kind);
            return updated;
        }

        await _audit.AppendAsync(
            new AuditEvent(change.AuditId, change.RequestId, change.At, AuditType(change), change.Actor, change.Channel, AuditDetail(change)),
            cancellationToken);
        Log.ChangeApplied(_logger, change.RequestId, change.Kind);
        return updated;
    }

    /// <summary><see cref="WorkflowNames.DeliverActivity"/>: hands a notification to one channel. Throws when the
    /// channel fails, so the activity's retries deliver it later.</summary>
    public async Task DeliverAsync(DeliverInput input, CancellationToken cancellationToken = default)
    {
        var channel = _channels.FirstOrDefault(c => string.Equals(c.Name, input.Channel, StringComparison.OrdinalIgnoreCase));
        if (channel is null)
        {
            // The channel was configured when the request was created and is not now: nothing to deliver to.
            return;
        }

        try
        {
            await channel.DeliverAsync(input.Notification, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.DeliveryFailed(_logger, input.Notification.Id, input.Notification.Kind, input.Notification.Request.Id, input.Channel, ex.Message);
            throw;
        }
    }

    /// <summary><see cref="WorkflowNames.CheckOnCallActivity"/>.</summary>
    public Task<OnCallAnswer> CheckOnCallAsync(OnCallInput input, CancellationToken cancellationToken = default)
        => _onCall.IsOnCallAsync(input.Email, input.Plan, input.At, cancellationToken);

    /// <summary><see cref="WorkflowNames.ResolveOnCallRespondersActivity"/>: throws when the directory fails, so it is
    /// retried; the same moment asked again gives the same answer unless PagerDuty's schedule was edited meanwhile.</summary>
    public async Task<List<string>> ResolveOnCallRespondersAsync(OnCallRespondersInput input, CancellationToken cancellationToken = default)
        => [.. await _onCall.OnCallResponderEmailsAsync(input.EscalationPolicyId, input.At, cancellationToken)];

    /// <summary><see cref="WorkflowNames.ProvisionActivity"/>: returns the IAM user name granted to.</summary>
    public Task<string> ProvisionAsync(GrantInput input, CancellationToken cancellationToken = default)
        => _grants.GrantAsync(input, cancellationToken);

    /// <summary><see cref="WorkflowNames.DeprovisionActivity"/>.</summary>
    public Task DeprovisionAsync(GrantInput input, CancellationToken cancellationToken = default)
        => _grants.ReleaseAsync(input, cancellationToken);

    /// <summary><see cref="WorkflowNames.ExtendGrantActivity"/>: moves the expiry condition of the grant's generated
    /// policy. Policy and group grants have none, and their ledger holding is unchanged: overlapping grants of the same
    /// permission keep counting this request as a holder until it ends.</summary>
    public Task ExtendGrantAsync(ExtendGrantInput input, CancellationToken cancellationToken = default)
        => _grants.ExtendAsync(input.Grant, input.ExpiresAt, cancellationToken);

    /// <summary><see cref="WorkflowNames.CollectActivityActivity"/>: looks up what the grant was used for, stores the
    /// summary with the request and audits it (once: a re-run keeps the first summary). Returns the request.</summary>
    public async Task<AccessRequest> CollectActivityAsync(ActivityInput input, CancellationToken cancellationToken = default)
    {
        var grant = input.Grant;
        var stored = await _requests.GetAsync(grant.RequestId, cancellationToken) ?? throw new InvalidOperationException($"Request {grant.RequestId} is not stored.");
        if (stored.Activity is not null)
        {
            return stored;
        }

        var summary = await _activity.CollectAsync(grant.AccountId, grant.UserName!, grant.Access.Type, input.From, input.To, cancellationToken);

        // Audited first, stamped now (an export that already read the grant's window must still see it): once the
        // summary is readable, its audit event is there too. A re-run appends nothing new (same id).
        await _audit.AppendAsync(
            new AuditEvent($"{grant.RequestId}:grant.activity", grant.RequestId, _time.GetUtcNow(), "grant.activity", Channels.System, Channels.System, $"From {input.From:O} to {input.To:O}: {summary.Describe()}"),
            cancellationToken);
        return await _requests.UpdateAsync(grant.RequestId, r => r.RecordActivity(summary), cancellationToken);
    }

    private static bool Apply(AccessRequest request, RequestChange change) => change.Kind switch
    {
        RequestChangeKind.Pending => request.Status == RequestStatus.Pending && request.MarkPending(change.Level ?? 1, change.OnCallApprovers),
        RequestChangeKind.Decision => change.Decision is { } d && request.Status == RequestStatus.Pending && request.AddDecision(d),
        RequestChangeKind.Approved => request.Approve(change.GrantedDuration ?? request.Duration, change.ApprovedBy ?? change.Actor),
        RequestChangeKind.Active => request.Activate(change.GrantedAt!.Value, change.ExpiresAt!.Value),
        RequestChangeKind.Ended => request.End(change.EndStatus!.Value, change.At, change.Actor, change.Detail),
        RequestChangeKind.ExtensionRequested => request.AddExtension(change.Extension!),
        RequestChangeKind.ExtensionApplied => request.ApplyExtension(change.Extension!, change.ExpiresAt!.Value, change.ApprovedBy, change.At),
        RequestChangeKind.ExtensionDenied => request.DenyExtension(change.Extension!.Id, change.Actor, change.Detail, change.At),
        RequestChangeKind.BreakGlass => request.MarkBreakGlass(),
        RequestChangeKind.DecisionRefused or RequestChangeKind.DecisionLate or RequestChangeKind.RevokeFailing
            or RequestChangeKind.ExtensionApproved or RequestChangeKind.ExtensionRefused => false, // audit only
        _ => throw new InvalidOperationException($"Unknown change {change.Kind}."),
    };

    private static string AuditType(RequestChange change) => change.Kind switch
    {
        RequestChangeKind.Pending => "request.pending",
        RequestChangeKind.Decision => change.Decision?.Decision == DecisionKind.Deny ? "decision.denied" : "decision.approved",
        RequestChangeKind.DecisionRefused => "decision.refused",
        RequestChangeKind.DecisionLate => "decision.late",
        RequestChangeKind.Approved => "request.approved",
        RequestChangeKind.Active => "request.active",
        RequestChangeKind.Ended => $"request.{change.EndStatus!.Value.WireName()}",
        RequestChangeKind.RevokeFailing => "revoke.failing",
        RequestChangeKind.ExtensionRequested => "extension.requested",
        RequestChangeKind.ExtensionApproved => "extension.approved",
        RequestChangeKind.ExtensionApplied => "extension.applied",
        RequestChangeKind.ExtensionDenied => "extension.denied",
        RequestChangeKind.ExtensionRefused => "extension.refused",
        RequestChangeKind.BreakGlass => "request.breakGlass",
        _ => change.Kind.ToString(),
    };

    private static string? AuditDetail(RequestChange change) => change.Kind switch
    {
        RequestChangeKind.Pending => $"approval level {change.Level} notified"
            + (change.OnCallApprovers is { } onCall ? $"; on call in PagerDuty: {(onCall.Count == 0 ? "nobody" : string.Join(", ", onCall))}" : string.Empty)
            + (change.Detail is { Length: > 0 } detail ? $" ({detail})" : string.Empty),
        RequestChangeKind.Decision when change.Decision is { } d =>
            $"{d.Decision.ToString().ToLowerInvariant()} by {d.Approver} at level {d.Level}"
            + (d.Duration is { } dd ? $" for {AccessDuration.Format(dd)}" : string.Empty)
            + (d.Comment is { Length: > 0 } c ? $": {c}" : string.Empty),
        RequestChangeKind.Approved => $"approved by {change.ApprovedBy} for {AccessDuration.Format(change.GrantedDuration ?? TimeSpan.Zero)}",
        RequestChangeKind.Active => $"active from {change.GrantedAt:O} until {change.ExpiresAt:O}",
        RequestChangeKind.ExtensionRequested when change.Extension is { } e => $"extension by {AccessDuration.Format(e.Duration)} asked by {e.RequestedBy}, waiting for an approver" + (e.Reason is { Length: > 0 } r ? $": {r}" : string.Empty),
        RequestChangeKind.ExtensionApproved when change.Extension is { } e => $"extension by {AccessDuration.Format(e.Duration)} approved by {change.Actor}" + (change.Detail is { Length: > 0 } c ? $": {c}" : string.Empty),
        RequestChangeKind.ExtensionApplied when change.Extension is { } e => $"extended by {AccessDuration.Format(e.Duration)} until {change.ExpiresAt:O}" + (change.ApprovedBy is { } by ? $" (approved by {by})" : string.Empty) + (e.Reason is { Length: > 0 } r ? $": {r}" : string.Empty),
        RequestChangeKind.ExtensionDenied when change.Extension is { } e => $"extension by {AccessDuration.Format(e.Duration)} denied by {change.Actor}" + (change.Detail is { Length: > 0 } c ? $": {c}" : string.Empty),
        RequestChangeKind.BreakGlass => $"approved by the requester through break-glass for {AccessDuration.Format(change.GrantedDuration ?? TimeSpan.Zero)}: {change.Detail}",
        _ => change.Detail,
    };
}
