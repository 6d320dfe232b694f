using System.Text.Json.Serialization;

namespace AccessWorkflows.Requests;

/// <summary>
/// An access request as stored and served (SPEC 4, 8). The workflow is the only writer after creation, through
/// the transition methods below, which refuse any move the life cycle does not allow and are no-ops when the
/// request is already where the move leads (activities run at least once).
/// </summary>
public sealed class AccessRequest
{
    public required string Id { get; init; }

    /// <summary>Lower-case email of the authenticated caller who asked.</summary>
    public required string Requester { get; init; }

    /// <summary>Lower-case email of the party the access is for, when not the requester.</summary>
    public string? OnBehalfOf { get; init; }

    public required string AccountId { get; init; }

    public required AccessSpec Access { get; init; }

    [JsonConverter(typeof(IsoDurationJsonConverter))]
    public required TimeSpan Duration { get; init; }

    public string? Reason { get; init; }

    public required string RuleName { get; init; }

    /// <summary>The channel the request came in through (api, slack, teams, cli).</summary>
    public string Channel { get; init; } = Channels.Api;

    public required ApprovalPlan Approval { get; init; }

    public RequestStatus Status { get; set; } = RequestStatus.Pending;

    /// <summary>The highest approval level notified so far; 0 before any.</summary>
    public int ApprovalLevel { get; set; }

    public List<DecisionRecord> Decisions { get; init; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? GrantedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>The duration actually granted (an approver may shorten it; on call caps it).</summary>
    [JsonConverter(typeof(NullableIsoDurationJsonConverter))]
    public TimeSpan? GrantedDuration { get; set; }

    /// <summary>Who approved: approver emails, "on call in schedule X", or "rule X" for pre-approved rules.</summary>
    public string? ApprovedBy { get; set; }

    /// <summary>Who denied, relinquished or revoked; "system" for expiry, time-out and failure.</summary>
    public string? EndedBy { get; set; }

    public string? StatusDetail { get; set; }

    /// <summary>What the grant was used for, collected <c>AccessWorkflows:Aws:ActivityDelay</c> after it ended (workflow
    /// version 4); null until then, and for requests that were never active.</summary>
    public Grants.Activity.GrantActivity? Activity { get; set; }

    /// <summary>The email that gets the IAM permission.</summary>
    [JsonIgnore]
    public string Grantee => OnBehalfOf ?? Requester;

    /// <summary>Everyone who may read this request besides admins and auditors.</summary>
    [JsonIgnore]
    public IEnumerable<string> Participants =>
        new[] { Requester }.Concat(OnBehalfOf is null ? [] : [OnBehalfOf]).Concat(Approval.Levels.SelectMany(l => l.Approvers)).Distinct();

    public bool IsApproverAtOrBelow(string email, int level) =>
        Approval.Levels.Where(l => l.Level <= level).Any(l => l.Approvers.Contains(email, StringComparer.OrdinalIgnoreCase));

    public bool MarkPending(int level)
    {
        Require(RequestStatus.Pending);
        if (level <= ApprovalLevel)
        {
            return false;
        }

        ApprovalLevel = level;
        return true;
    }

    public bool AddDecision(DecisionRecord decision)
    {
        if (Decisions.Any(d => d.Id == decision.Id))
        {
            return false;
        }

        Require(RequestStatus.Pending);
        Decisions.Add(decision);
        return true;
    }

    public bool Approve(TimeSpan grantedDuration, string approvedBy)
    {
        if (Status == RequestStatus.Approved)
        {
            return false;
        }

        Require(RequestStatus.Pending);
        Status = RequestStatus.Approved;
        GrantedDuration = grantedDuration;
        ApprovedBy = approvedBy;
        return true;
    }

    public bool Activate(DateTimeOffset grantedAt, DateTimeOffset expiresAt)
    {
        if (Status == RequestStatus.Active)
        {
            return false;
        }

        Require(RequestStatus.Approved);
        Status = RequestStatus.Active;
        GrantedAt = grantedAt;
        ExpiresAt = expiresAt;
        return true;
    }

    /// <summary>Records the grant's activity summary once it ended; a repeat keeps the first (activities run at least
    /// once, and CloudTrail may have delivered more events by a re-run).</summary>
    public bool RecordActivity(Grants.Activity.GrantActivity activity)
    {
        if (!Status.IsTerminal() || Activity is not null)
        {
            return false;
        }

        Activity = activity;
        return true;
    }

    /// <summary>Moves to a terminal status. Allowed: pending → denied / timedOut / revoked; approved → failed / revoked;
    /// active → expired / relinquished / revoked / failed.</summary>
    public bool End(RequestStatus terminal, DateTimeOffset at, string? by, string? detail)
    {
        if (Status == terminal)
        {
            return false;
        }

        var allowed = (Status, terminal) switch
        {
            (RequestStatus.Pending, RequestStatus.Denied or RequestStatus.TimedOut or RequestStatus.Revoked) => true,
            (RequestStatus.Approved, RequestStatus.Failed or RequestStatus.Revoked) => true,
            (RequestStatus.Active, RequestStatus.Expired or RequestStatus.Relinquished or RequestStatus.Revoked or RequestStatus.Failed) => true,
            _ => false,
        };
        if (!allowed || !terminal.IsTerminal())
        {
            throw new InvalidOperationException($"Request {Id} cannot go from {Status.WireName()} to {terminal.WireName()}.");
        }

        Status = terminal;
        EndedAt = at;
        EndedBy = by;
        StatusDetail = detail;
        return true;
    }

    private void Require(RequestStatus expected)
    {
        if (Status != expected)
        {
            throw new InvalidOperationException($"Request {Id} is {Status.WireName()}, not {expected.WireName()}.");
        }
    }
}
