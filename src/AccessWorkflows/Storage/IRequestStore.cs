using AccessWorkflows.Requests;

namespace AccessWorkflows.Storage;

/// <summary>
/// Requests as stored (SPEC 11: SQLite or Azure Table Storage). Implementations use optimistic concurrency:
/// <see cref="UpdateAsync"/> re-reads and re-applies the mutation when another writer got there first.
/// </summary>
public interface IRequestStore
{
    /// <summary>Stores a new request; false (and nothing changed) when one with that id exists.</summary>
    Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default);

    Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="mutate"/> to the current request and saves it if it returned true, retrying on a
    /// concurrency conflict (so <paramref name="mutate"/> may run more than once). Returns the request as stored.
    /// Throws <see cref="KeyNotFoundException"/> when there is no such request.
    /// </summary>
    Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default);

    /// <summary>Newest first, paged by an opaque continuation token.</summary>
    Task<RequestPage> QueryAsync(RequestQuery query, CancellationToken cancellationToken = default);
}

/// <summary>A request listing filter. <see cref="Participant"/> keeps requests where that email is the requester,
/// the beneficiary or one of the approvers; null members do not filter. <see cref="UnreviewedBreakGlass"/> keeps only
/// break-glass requests that have no review yet.</summary>
public sealed record RequestQuery(
    RequestStatus? Status = null,
    string? Requester = null,
    string? Participant = null,
    int PageSize = 50,
    string? ContinuationToken = null,
    bool UnreviewedBreakGlass = false);

public sealed record RequestPage(IReadOnlyList<AccessRequest> Items, string? ContinuationToken);
