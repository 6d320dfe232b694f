using AccessWorkflows.Requests;

namespace AccessWorkflows.Storage;

/// <summary>
/// The continuation token of a newest-first request listing: the (created-at, id) position of the last item served,
/// bound to the query's filter (a <see cref="PositionToken"/> of format 1).
/// </summary>
internal static class RequestContinuationToken
{
    private const byte Format = 1;

    public static string Encode(long createdAtUtcTicks, string id, RequestQuery query) =>
        PositionToken.Encode(Format, createdAtUtcTicks, id, Binding(query));

    /// <exception cref="ArgumentException">The token is not one this query produced.</exception>
    public static (long CreatedAtUtcTicks, string Id) Decode(string token, RequestQuery query) =>
        PositionToken.Decode(Format, token, Binding(query), nameof(RequestQuery.ContinuationToken));

    private static string Binding(RequestQuery query) =>
        $"{(query.Status is { } s ? s.WireName() : "")}\n{query.Requester?.ToLowerInvariant()}\n{query.Participant?.ToLowerInvariant()}"
        + (query.UnreviewedBreakGlass ? "\nbreakGlass=unreviewed" : string.Empty);
}
