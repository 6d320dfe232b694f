namespace AccessWorkflows.Storage;

/// <summary>The append-only audit log (SPEC 12). Nothing in it is ever changed or deleted.</summary>
public interface IAuditLog
{
    /// <summary>Appends an event; appending an event whose <see cref="AuditEvent.Id"/> is already there does nothing
    /// (activities run at least once).</summary>
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);

    /// <summary>The events of one request, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> ListAsync(string requestId, CancellationToken cancellationToken = default);
}

/// <summary>One audited fact: who did what, through which channel, when.</summary>
/// <param name="Id">Stable id (de-duplication).</param>
/// <param name="RequestId">The request, or a pseudo-id such as <c>account:111122223333</c> for reconciliation.</param>
/// <param name="Type">e.g. <c>request.created</c>, <c>decision.recorded</c>, <c>decision.refused</c>, <c>status.active</c>, <c>grant.revoked</c>.</param>
/// <param name="Actor">Email of the person, or <c>system</c>.</param>
/// <param name="Channel">api, slack, teams, webhook, pagerduty, rules, system.</param>
/// <param name="Detail">Free text for people; may contain request data.</param>
public sealed record AuditEvent(string Id, string RequestId, DateTimeOffset At, string Type, string Actor, string Channel, string? Detail);
