using System.Collections.Concurrent;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Teams.Bot;

/// <summary>
/// Requests as the bot last read them for a click, kept for <see cref="Lifetime"/>, so a burst of Approve or Deny clicks
/// by people who are neither an approver of the request nor its requester is answered without a store read for each.
/// </summary>
/// <remarks>
/// <para>Only such a stranger's answer comes from a snapshot: it says they cannot act and shows nothing of the request.
/// Every other click reads the store. An answer is never the decision: the click's queued command reads the store
/// itself, decides, and audits the refusal.</para>
/// <para>What a snapshot up to <see cref="Lifetime"/> old can get wrong: a person who became an approver within it (an
/// on-call approver added when a level is notified) is told they are not one; their queued command then counts the
/// decision, and the bot replaces the cards with the request as it is, as for any answer the command did not confirm.
/// And a refusal's reason may describe the request as it was that long ago (pending rather than just approved).</para>
/// </remarks>
internal sealed class RequestSnapshots(TimeProvider time)
{
    /// <summary>How long a read answers strangers' clicks.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);

    private const int MaxEntries = 1000;
    private readonly ConcurrentDictionary<string, (AccessRequest Request, DateTimeOffset Until)> _entries = new(StringComparer.Ordinal);

    /// <summary>The snapshot of <paramref name="requestId"/> when one younger than <see cref="Lifetime"/> shows
    /// <paramref name="email"/> as a stranger to it (no approver of any level, not the requester or beneficiary);
    /// otherwise null, and the caller reads the store.</summary>
    public AccessRequest? ForStranger(string requestId, string email) =>
        _entries.TryGetValue(requestId, out var entry) && entry.Until > time.GetUtcNow() && IsStranger(entry.Request, email)
            ? entry.Request
            : null;

    /// <summary>Keeps <paramref name="request"/>, as just read from the store, for strangers' next clicks.</summary>
    public void Remember(AccessRequest request)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[request.Id] = (request, time.GetUtcNow() + Lifetime);
    }

    public static bool IsStranger(AccessRequest request, string email) =>
        !request.IsApproverOfAnyLevel(email)
        && !string.Equals(request.Requester, email, StringComparison.OrdinalIgnoreCase)
        && !string.Equals(request.OnBehalfOf, email, StringComparison.OrdinalIgnoreCase);
}
