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

    /// <summary>Frozen at creation; the one later change is a level's PagerDuty on-call responders, added when the
    /// level is notified (<see cref="MarkPending"/>).</summary>
    public required ApprovalPlan Approval { get; set; }

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

    /// <summary>The workflow version the request was started with (0: recorded before versions were stored). Cancel
    /// needs version 4, whose workflow honours <see cref="CancelRequested"/>.</summary>
    public int WorkflowVersion { get; init; }

    /// <summary>The requester asked to cancel while the request was pending. Set by the commands port in the store,
    /// where it orders against the approval: once set, <see cref="Approve"/> refuses, so a cancelled request is never
    /// provisioned however an approval races it.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>Extensions of the active grant, oldest first (workflow version 4).</summary>
    public List<ExtensionRecord> Extensions { get; init; } = [];

    /// <summary>The extension waiting for an approver, if any.</summary>
    [JsonIgnore]
    public ExtensionRecord? PendingExtension => Extensions.FirstOrDefault(e => e.Status == ExtensionStatus.Pending);
    /// <summary>Approved by the requester themselves under the rule's <c>breakGlass</c>; needs a review.</summary>
    public bool BreakGlass { get; set; }

    /// <summary>The post-incident review of a break-glass request; null until an approver or admin records it.</summary>
    public BreakGlassReview? Review { get; set; }

    /// <summary>The stage the request is in: that of the highest notified level (1 before any, and for rules
    /// without stages).</summary>
    [JsonIgnore]
    public int ApprovalStage => Approval.StageOf(Math.Max(ApprovalLevel, 1));

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

    /// <summary>Whether <paramref name="email"/> approves a level up to <paramref name="level"/> within that level's
    /// stage: once a stage has passed, its approvers no longer decide (a rule without stages has one stage).</summary>
    public bool IsApproverAtOrBelow(string email, int level)
    {
        var stage = Approval.StageOf(level);
        return Approval.Levels.Where(l => l.Level <= level && l.Stage == stage).Any(l => l.Approvers.Contains(email, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Whether <paramref name="email"/> approves any level of any stage (who may review a break-glass).</summary>
    public bool IsApproverOfAnyLevel(string email) =>
        Approval.Levels.Any(l => l.Approvers.Contains(email, StringComparer.OrdinalIgnoreCase));

    /// <summary>Flags the request as approved through break-glass (while still pending: the approval follows).</summary>
    public bool MarkBreakGlass()
    {
        if (BreakGlass)
        {
            return false;
        }

        Require(RequestStatus.Pending);
        BreakGlass = true;
        return true;
    }

    /// <summary>Records the post-incident review once; false (nothing changed) when not break-glass or already reviewed.</summary>
    public bool MarkReviewed(BreakGlassReview review)
    {
        if (!BreakGlass || Review is not null)
        {
            return false;
        }

        Review = review;
        return true;
    }

    /// <param name="onCallApprovers">Version 4: the on-call responders of the level's PagerDuty escalation policy,
    /// resolved by the workflow as it notifies the level; they become approvers of that level.</param>
    public bool MarkPending(int level, IReadOnlyList<string>? onCallApprovers = null)
    {
        Require(RequestStatus.Pending);
        if (level <= ApprovalLevel)
        {
            return false;
        }

        ApprovalLevel = level;
        if (onCallApprovers is { Count: > 0 })
        {
            Approval = Approval with
            {
                Levels = [.. Approval.Levels.Select(l => l.Level != level ? l : l with
                {
                    Approvers = [.. l.Approvers.Concat(onCallApprovers).Distinct(StringComparer.OrdinalIgnoreCase)],
                    OnCallApprovers = [.. onCallApprovers],
                })],
            };
        }

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

    /// <summary>Moves pending → approved. Refused (false, nothing changed) once the requester asked to cancel: the
    /// workflow then ends the request <c>cancelled</c> instead of provisioning it.</summary>
    public bool Approve(TimeSpan grantedDuration, string approvedBy)
    {
        if (Status == RequestStatus.Approved)
        {
            return false;
        }

        Require(RequestStatus.Pending);
        if (CancelRequested)
        {
            return false;
        }

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

    /// <summary>Records the requester's wish to cancel. False when the request is no longer pending (the caller answers
    /// with its outcome) or already asked.</summary>
    public bool RequestCancel()
    {
        if (Status != RequestStatus.Pending || CancelRequested)
        {
            return false;
        }

        CancelRequested = true;
        return true;
    }

    /// <summary>Records an extension asked for (pending approval). No-op when that id is recorded.</summary>
    public bool AddExtension(ExtensionRecord extension)
    {
        if (Extensions.Any(e => e.Id == extension.Id))
        {
            return false;
        }

        Require(RequestStatus.Active);
        Extensions.Add(extension);
        return true;
    }

    /// <summary>Applies an extension: the grant now ends at <paramref name="expiresAt"/>. Records the extension when it
    /// was not pending (one that needs no approval). No-op when it is already applied.</summary>
    public bool ApplyExtension(ExtensionRecord extension, DateTimeOffset expiresAt, string? approvedBy, DateTimeOffset at)
    {
        var index = Extensions.FindIndex(e => e.Id == extension.Id);
        if (index >= 0 && Extensions[index].Status == ExtensionStatus.Applied)
        {
            return false;
        }

        Require(RequestStatus.Active);
        var applied = (index >= 0 ? Extensions[index] : extension) with { Status = ExtensionStatus.Applied, DecidedBy = approvedBy, DecidedAt = at, ExpiresAt = expiresAt };
        if (index >= 0)
        {
            Extensions[index] = applied;
        }
        else
        {
            Extensions.Add(applied);
        }

        ExpiresAt = expiresAt;
        return true;
    }

    /// <summary>An approver refused the pending extension <paramref name="extensionId"/>; the grant keeps its expiry.</summary>
    public bool DenyExtension(string extensionId, string deniedBy, string? comment, DateTimeOffset at)
    {
        var index = Extensions.FindIndex(e => e.Id == extensionId);
        if (index < 0 || Extensions[index].Status != ExtensionStatus.Pending)
        {
            return false;
        }

        Extensions[index] = Extensions[index] with { Status = ExtensionStatus.Denied, DecidedBy = deniedBy, DecidedAt = at, Comment = comment };
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

    /// <summary>Moves to a terminal status. Allowed: pending → denied / timedOut / revoked / cancelled; approved → failed / revoked;
    /// active → expired / relinquished / revoked / failed.</summary>
    public bool End(RequestStatus terminal, DateTimeOffset at, string? by, string? detail)
    {
        if (Status == terminal)
        {
            return false;
        }

        var allowed = (Status, terminal) switch
        {
            (RequestStatus.Pending, RequestStatus.Denied or RequestStatus.TimedOut or RequestStatus.Revoked or RequestStatus.Cancelled) => true,
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

[JsonConverter(typeof(JsonStringEnumConverter<ExtensionStatus>))]
public enum ExtensionStatus
{
    [JsonStringEnumMemberName("pending")]
    Pending,

    [JsonStringEnumMemberName("applied")]
    Applied,

    [JsonStringEnumMemberName("denied")]
    Denied,
}

/// <summary>One extension of an active grant, as stored on the request.</summary>
/// <param name="Id">De-duplicates deliveries of the same ask (API call, Slack click, Teams invoke).</param>
/// <param name="Duration">What it adds to the expiry current when it is applied.</param>
/// <param name="DecidedBy">The approver who approved or denied it; null when no approval was needed.</param>
/// <param name="ExpiresAt">The expiry it set, once applied.</param>
public sealed record ExtensionRecord(
    string Id,
    string RequestedBy,
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan Duration,
    string? Reason,
    string Channel,
    DateTimeOffset RequestedAt,
    ExtensionStatus Status = ExtensionStatus.Pending,
    string? DecidedBy = null,
    DateTimeOffset? DecidedAt = null,
    DateTimeOffset? ExpiresAt = null,
    string? Comment = null);
/// <summary>Who reviewed a break-glass request, when, and what they found.</summary>
public sealed record BreakGlassReview(string By, DateTimeOffset At, string Comment);
