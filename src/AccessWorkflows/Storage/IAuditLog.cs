namespace AccessWorkflows.Storage;

/// <summary>The append-only audit log (SPEC 12). Nothing in it is ever changed or deleted.</summary>
public interface IAuditLog
{
    /// <summary>Appends an event; appending an event whose <see cref="AuditEvent.Id"/> is already there does nothing
    /// (activities run at least once).</summary>
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="auditEvents"/> in their order, as <see cref="AppendAsync"/> would one by one; a store
    /// that can writes them in one transaction (all or none), which costs one commit instead of one per event. Events at
    /// the same instant keep the order of the list.
    /// </summary>
    async Task AppendManyAsync(IReadOnlyList<AuditEvent> auditEvents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvents);
        foreach (var auditEvent in auditEvents)
        {
            await AppendAsync(auditEvent, cancellationToken);
        }
    }

    /// <summary>The events of one request, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> ListAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every event (requests' and accounts') whose instant is in [<see cref="AuditQuery.Since"/>,
    /// <see cref="AuditQuery.Until"/>), oldest first, events at the same instant in the order they were appended, paged
    /// by an opaque continuation token bound to the bounds (the SIEM export, SPEC 13).
    /// </summary>
    /// <exception cref="ArgumentException">A tampered, malformed or foreign continuation token, a page size outside
    /// 1..<see cref="AuditQuery.MaxPageSize"/>, or bounds that are not an interval.</exception>
    Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);
}

/// <summary>A time range of the audit log: <see cref="Since"/> inclusive, <see cref="Until"/> exclusive.</summary>
public sealed record AuditQuery(DateTimeOffset Since, DateTimeOffset Until, int PageSize = AuditQuery.DefaultPageSize, string? ContinuationToken = null)
{
    public const int DefaultPageSize = 500;

    public const int MaxPageSize = 1000;

    /// <summary>Refuses what no store can answer: an empty or inverted range, a page size out of bounds.</summary>
    /// <exception cref="ArgumentException">The query is not valid.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(PageSize, 1, nameof(PageSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PageSize, MaxPageSize, nameof(PageSize));
        if (Until <= Since)
        {
            throw new ArgumentException("until must be later than since.", nameof(Until));
        }
    }
}

/// <summary>One page of <see cref="IAuditLog.QueryAsync"/>; <see cref="ContinuationToken"/> is null on the last.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEvent> Items, string? ContinuationToken);

/// <summary>One audited fact: who did what, through which channel, when.</summary>
/// <param name="Id">Stable id (de-duplication).</param>
/// <param name="RequestId">The request, or a pseudo-id such as <c>account:111122223333</c> for reconciliation.</param>
/// <param name="Type">e.g. <c>request.created</c>, <c>decision.recorded</c>, <c>decision.refused</c>, <c>status.active</c>, <c>grant.revoked</c>.</param>
/// <param name="Actor">Email of the person, or <c>system</c>.</param>
/// <param name="Channel">api, slack, teams, webhook, pagerduty, rules, system.</param>
/// <param name="Detail">Free text for people; may contain request data.</param>
public sealed record AuditEvent(string Id, string RequestId, DateTimeOffset At, string Type, string Actor, string Channel, string? Detail);
