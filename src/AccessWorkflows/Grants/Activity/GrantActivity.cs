using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants.Activity;

/// <summary>
/// What a grant was used for (SPEC 13): the CloudTrail management events of the grantee in the account between the
/// grant and its end, counted by service and event name. Served by <c>GET /api/requests/{id}/activity</c>.
/// </summary>
/// <param name="From">When the grant became active.</param>
/// <param name="To">When it ended.</param>
/// <param name="Total">How many events.</param>
/// <param name="ByEvent">Counts per (service, event name), most frequent first; <c>errors</c> counts the events that
/// carried an error code (AccessDenied and the like).</param>
/// <param name="First">The earliest event; null when there were none.</param>
/// <param name="Last">The latest event; null when there were none.</param>
public sealed record GrantActivity(DateTimeOffset From, DateTimeOffset To, int Total, IReadOnlyList<ActivityCount> ByEvent, DateTimeOffset? First, DateTimeOffset? Last)
{
    /// <summary>Counts the events; the service is the event source without <c>.amazonaws.com</c>.</summary>
    public static GrantActivity Summarize(DateTimeOffset from, DateTimeOffset to, IEnumerable<ActivityEvent> events)
    {
        var list = events.ToList();
        var byEvent = list
            .GroupBy(e => (Service: ServiceOf(e.EventSource), e.EventName))
            .Select(g => new ActivityCount(g.Key.Service, g.Key.EventName, g.Count(), g.Count(e => e.ErrorCode is { Length: > 0 })))
            .OrderByDescending(c => c.Count).ThenBy(c => c.Service, StringComparer.Ordinal).ThenBy(c => c.EventName, StringComparer.Ordinal)
            .ToList();
        return new GrantActivity(from, to, list.Count, byEvent, list.Count == 0 ? null : list.Min(e => e.Time), list.Count == 0 ? null : list.Max(e => e.Time));
    }

    /// <summary>One line for cards and messages: "42 events (3 errors): s3 GetObject ×30, ...". Contains service
    /// and event names from CloudTrail: escape before rendering.</summary>
    public string Describe(int top = 3)
    {
        if (Total == 0)
        {
            return "no management events recorded";
        }

        var errors = ByEvent.Sum(e => e.Errors);
        var head = string.Join(", ", ByEvent.Take(top).Select(e => $"{e.Service} {e.EventName} ×{e.Count}"));
        return $"{Total} event{(Total == 1 ? string.Empty : "s")}{(errors > 0 ? $" ({errors} failed)" : string.Empty)}: {head}{(ByEvent.Count > top ? ", …" : string.Empty)}";
    }

    private static string ServiceOf(string eventSource) =>
        eventSource.EndsWith(".amazonaws.com", StringComparison.OrdinalIgnoreCase) ? eventSource[..^".amazonaws.com".Length] : eventSource;
}

public sealed record ActivityCount(string Service, string EventName, int Count, int Errors);

/// <summary>One CloudTrail event as the summary needs it.</summary>
/// <param name="EventSource">e.g. <c>s3.amazonaws.com</c>.</param>
/// <param name="ErrorCode">Set when the call failed (AccessDenied, ...).</param>
public sealed record ActivityEvent(string EventSource, string EventName, DateTimeOffset Time, string? ErrorCode);

/// <summary>Where the events of a grantee come from: CloudTrail for real accounts.</summary>
public interface IActivitySource
{
    /// <summary>The management events of the grantee in the account between <paramref name="from"/> and
    /// <paramref name="to"/>.</summary>
    /// <param name="principal">What the grant was made to: the IAM user name, or for permission sets the Identity
    /// Center user id (the source finds the user name CloudTrail records).</param>
    Task<IReadOnlyList<ActivityEvent>> LookupAsync(AccountConfig account, string principal, AccessKind kind, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);
}

/// <summary>
/// Collects a grant's activity: the registered source for real accounts; a sandbox account has no CloudTrail, so
/// its summary is empty (the demo still shows the whole life of a request, activity included).
/// </summary>
public sealed class ActivityCollector
{
    private readonly AccessRules _rules;
    private readonly IActivitySource? _source;

    public ActivityCollector(AccessRules rules, IEnumerable<IActivitySource> sources)
    {
        _rules = rules;
        _source = sources.FirstOrDefault();
    }

    public async Task<GrantActivity> CollectAsync(string accountId, string principal, AccessKind kind, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        var account = _rules.FindAccount(accountId) ?? throw new PermanentProvisioningException($"Account {accountId} is not in the rules file.");
        if (account.IsSandbox)
        {
            return GrantActivity.Summarize(from, to, []);
        }

        var source = _source ?? throw new PermanentProvisioningException($"Account {accountId} is a real AWS account, and no AWS provider is configured.");
        return GrantActivity.Summarize(from, to, await source.LookupAsync(account, principal, kind, from, to, cancellationToken));
    }
}
