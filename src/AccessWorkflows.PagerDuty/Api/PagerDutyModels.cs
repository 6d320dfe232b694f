namespace AccessWorkflows.PagerDuty.Api;

// The parts of PagerDuty's REST API v2 JSON this product reads (snake_case on the wire). Classic pagination:
// every list answers offset, limit and more.

/// <summary>A user of <c>GET /users</c>.</summary>
public sealed record PagerDutyUser(string Id, string? Email, string? Name);

/// <summary>A reference object (<c>{ id, type, summary }</c>) inside an on-call entry. <see cref="Email"/> is there only
/// for a user expanded with <c>include[]=users</c> (then the object is the full user).</summary>
public sealed record PagerDutyReference(string Id, string? Summary, string? Email = null);

/// <summary>An entry of <c>GET /oncalls</c>. <see cref="Schedule"/> is null when the user is on the escalation
/// policy directly; <see cref="End"/> is null for "always on call".</summary>
public sealed record PagerDutyOnCall(
    PagerDutyReference? User,
    PagerDutyReference? Schedule,
    PagerDutyReference? EscalationPolicy,
    int EscalationLevel,
    DateTimeOffset? Start,
    DateTimeOffset? End);

internal sealed record PagerDutyUsersPage(List<PagerDutyUser>? Users, int Offset, int Limit, bool More);

internal sealed record PagerDutyOnCallsPage(List<PagerDutyOnCall>? Oncalls, int Offset, int Limit, bool More);

/// <summary>PagerDuty did not answer usefully (HTTP error after retries, time-out, malformed JSON).</summary>
public sealed class PagerDutyApiException(string message, Exception? inner = null) : Exception(message, inner);
