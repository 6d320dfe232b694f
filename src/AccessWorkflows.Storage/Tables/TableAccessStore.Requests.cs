using System.Globalization;
using System.Text.Json;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Storage.Tables;

// Requests: one primary entity per request (PartitionKey = id) holding the JSON body, and index entities in the
// RequestIndex table, one per listing the request belongs to: "all", "status|{status}", "requester|{email}",
// "participant|{email}", and "breakglass|unreviewed" while a break-glass request awaits its review. An index entity's RowKey is the request's position in newest-first order (descending created
// ticks, then descending id), so a listing is one partition scan in key order, paged with "RowKey gt {position}".
//
// The primary is the truth; the indexes may be stale. Writers add new index entities before the primary is written
// (with its ETag) and remove old ones after, so a listing never misses a request; a reader checks every index hit
// against the primary and drops entries whose request no longer matches (a removal that did not happen, a write
// that lost its race). Removed entries are never needed again: a request's status only moves forward, its requester
// and creation time never change, its participants only grow, and a reviewed break-glass request stays reviewed.
public sealed partial class TableAccessStore
{
    /// <summary>Upper bound of <see cref="RequestQuery.PageSize"/>; larger pages are refused, not clamped.</summary>
    public const int MaxPageSize = 1000;

    private const string PrimaryRowKey = "request";
    private const int MaxRequestIdLength = 100;
    private const int IndexFanOut = 16;
    private const string UnreviewedBreakGlassListing = "breakglass|unreviewed";

    public async Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Id);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.Id.Length, MaxRequestIdLength, nameof(request.Id));
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);

        var keys = IndexKeys(request);
        await ForEachAsync(keys, key => client.UpsertAsync(RequestIndexTable, IndexEntity(key, request), cancellationToken)).ConfigureAwait(false);

        // The write id tells our own insert, retried by the pipeline after a lost response, from someone else's.
        var writeId = Guid.NewGuid().ToString("N");
        var primary = PrimaryEntity(request, writeId);
        var result = await client.InsertAsync(RequestsTable, primary, cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            return true;
        }

        if (result.Outcome != TableWriteOutcome.Conflict)
        {
            throw new InvalidOperationException($"Inserting request {request.Id} answered {result.Outcome}.");
        }

        var existing = await client.GetAsync(RequestsTable, primary.PartitionKey, PrimaryRowKey, cancellationToken).ConfigureAwait(false);
        if (existing?["WriteId"] == writeId)
        {
            return true;
        }

        // Someone else's request has this id: take back the index entries only ours needed (best effort; a leftover
        // one is dropped by the readers' check).
        if (existing is not null)
        {
            var theirs = IndexKeys(Deserialize(existing)).ToHashSet();
            await ForEachAsync(keys.Where(k => !theirs.Contains(k)), key => client.DeleteAsync(RequestIndexTable, key.PartitionKey, key.RowKey, "*", cancellationToken)).ConfigureAwait(false);
        }

        return false;
    }

    public async Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length is 0 or > MaxRequestIdLength)
        {
            return null;
        }

        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = await client.GetAsync(RequestsTable, TableKeys.Escape(id), PrimaryRowKey, cancellationToken).ConfigureAwait(false);
        return entity is null ? null : Deserialize(entity);
    }

    /// <summary>
    /// Optimistic read-modify-write on the primary's ETag: <paramref name="mutate"/> runs on a fresh copy, and the
    /// result is written only if nobody wrote in between (412 → read again and re-apply), so <paramref name="mutate"/>
    /// may run several times and must be a pure function of the request it is given. An exception from it propagates
    /// and nothing is written.
    /// </summary>
    public async Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(mutate);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var entity = (id.Length is 0 or > MaxRequestIdLength ? null : await client.GetAsync(RequestsTable, TableKeys.Escape(id), PrimaryRowKey, cancellationToken).ConfigureAwait(false))
                ?? throw new KeyNotFoundException($"No request {id}.");
            var request = Deserialize(entity);
            var before = IndexKeys(request);
            if (!mutate(request))
            {
                return Deserialize(entity); // the mutation may have touched the copy before declining
            }

            if (request.Id != id)
            {
                throw new InvalidOperationException($"The mutation of request {id} changed its id.");
            }

            var after = IndexKeys(request);
            await ForEachAsync(after.Except(before), key => client.UpsertAsync(RequestIndexTable, IndexEntity(key, request), cancellationToken)).ConfigureAwait(false);

            var result = await client.ReplaceAsync(RequestsTable, PrimaryEntity(request, Guid.NewGuid().ToString("N")), entity.ETag!, cancellationToken).ConfigureAwait(false);
            switch (result.Outcome)
            {
                case TableWriteOutcome.Done:
                    await ForEachAsync(before.Except(after), key => client.DeleteAsync(RequestIndexTable, key.PartitionKey, key.RowKey, "*", cancellationToken)).ConfigureAwait(false);
                    return request;
                case TableWriteOutcome.PreconditionFailed:
                    continue; // another writer got there first: re-read and re-apply
                case TableWriteOutcome.NotFound:
                    throw new KeyNotFoundException($"No request {id}.");
                default:
                    throw new InvalidOperationException($"Updating request {id} answered {result.Outcome}.");
            }
        }

        throw TooManyConflicts($"request {id}");
    }

    /// <summary>
    /// Newest first by <see cref="AccessRequest.CreatedAt"/>, ties by id (descending ordinal), like the SQLite store.
    /// Scans the most selective listing the query names (participant, requester, status, all) and checks every hit
    /// against the stored request, so combined filters and stale index entries are handled the same way.
    /// </summary>
    /// <exception cref="ArgumentException">A tampered or foreign continuation token, or a page size outside 1..<see cref="MaxPageSize"/>.</exception>
    public async Task<RequestPage> QueryAsync(RequestQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1, nameof(query.PageSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.PageSize, MaxPageSize, nameof(query.PageSize));
        (long Ticks, string Id)? position = query.ContinuationToken is { } token ? RequestContinuationToken.Decode(token, query) : null;
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);

        var listing = query.UnreviewedBreakGlass ? UnreviewedBreakGlassListing
            : query.Participant is { } participant ? ListingKey("participant", participant.ToLowerInvariant())
            : query.Requester is { } requester ? ListingKey("requester", requester.ToLowerInvariant())
            : query.Status is { } status ? ListingKey("status", status.WireName())
            : "all";
        var filter = "PartitionKey eq " + TableRestClient.Literal(listing);
        if (position is { } p)
        {
            filter += " and RowKey gt " + TableRestClient.Literal(IndexRowKey(p.Ticks, p.Id));
        }

        // One more than a page: tells whether a next page exists without a token that leads to an empty page.
        var wanted = query.PageSize + 1;
        var items = new List<AccessRequest>(Math.Min(wanted, 64));
        string? nextPk = null, nextRk = null;
        do
        {
            var page = await client.QueryAsync(RequestIndexTable, filter, Math.Min(1000, wanted - items.Count + 8), nextPk, nextRk, cancellationToken).ConfigureAwait(false);
            (nextPk, nextRk) = (page.NextPartitionKey, page.NextRowKey);
            var hits = new AccessRequest?[page.Entities.Count];
            await ForEachAsync(Enumerable.Range(0, hits.Length), async i => hits[i] = await GetAsync(page.Entities[i].Required("RequestId"), cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            for (var i = 0; i < hits.Length && items.Count < wanted; i++)
            {
                if (hits[i] is { } hit && Matches(hit, query) && IndexRowKey(hit) == page.Entities[i].RowKey)
                {
                    items.Add(hit);
                }
            }
        }
        while (items.Count < wanted && (nextPk is not null || nextRk is not null));

        if (items.Count <= query.PageSize)
        {
            return new RequestPage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        return new RequestPage(items, RequestContinuationToken.Encode(last.CreatedAt.UtcTicks, last.Id, query));
    }

    private static bool Matches(AccessRequest request, RequestQuery query) =>
        (query.Status is not { } status || request.Status == status)
        && (query.Requester is not { } requester || string.Equals(request.Requester, requester, StringComparison.OrdinalIgnoreCase))
        && (query.Participant is not { } participant || ParticipantsOf(request).Contains(participant.ToLowerInvariant()))
        && (!query.UnreviewedBreakGlass || IsUnreviewedBreakGlass(request));

    private static bool IsUnreviewedBreakGlass(AccessRequest request) => request.BreakGlass && request.Review is null;

    private static IEnumerable<string> ParticipantsOf(AccessRequest request) =>
        request.Participants.Concat(request.Decisions.Select(d => d.Approver)).Select(e => e.ToLowerInvariant()).Distinct(StringComparer.Ordinal);

    private static List<IndexKey> IndexKeys(AccessRequest request)
    {
        var rowKey = IndexRowKey(request);
        var keys = new List<IndexKey>
        {
            new("all", rowKey),
            new(ListingKey("status", request.Status.WireName()), rowKey),
            new(ListingKey("requester", request.Requester.ToLowerInvariant()), rowKey),
        };
        keys.AddRange(ParticipantsOf(request).Select(email => new IndexKey(ListingKey("participant", email), rowKey)));
        if (IsUnreviewedBreakGlass(request))
        {
            // Left when the review is recorded: the daily reminder scans only what still needs a review.
            keys.Add(new IndexKey(UnreviewedBreakGlassListing, rowKey));
        }

        return keys;
    }

    private static string ListingKey(string listing, string value) => listing + TableKeys.Separator + TableKeys.Escape(value);

    private static string IndexRowKey(AccessRequest request) => IndexRowKey(request.CreatedAt.UtcTicks, request.Id);

    private static string IndexRowKey(long createdUtcTicks, string id) => TableKeys.DescendingTicks(createdUtcTicks) + TableKeys.Descending(id);

    private static TableEntity IndexEntity(IndexKey key, AccessRequest request) => new(key.PartitionKey, key.RowKey)
    {
        ["RequestId"] = request.Id,
        ["CreatedTicks"] = request.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture),
    };

    private static TableEntity PrimaryEntity(AccessRequest request, string writeId)
    {
        var entity = new TableEntity(TableKeys.Escape(request.Id), PrimaryRowKey)
        {
            ["Status"] = request.Status.WireName(),
            ["Requester"] = request.Requester.ToLowerInvariant(),
            ["CreatedTicks"] = request.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture),
            ["WriteId"] = writeId,
        };
        EntityChunks.Write(entity, "Body", JsonSerializer.Serialize(request, StoreJson.Options));
        return entity;
    }

    private static AccessRequest Deserialize(TableEntity entity) =>
        JsonSerializer.Deserialize<AccessRequest>(EntityChunks.Read(entity, "Body") ?? throw new InvalidDataException("A stored request has no body."), StoreJson.Options)
        ?? throw new InvalidDataException("A stored request is null.");

    /// <summary>Runs <paramref name="action"/> for each item, at most <see cref="IndexFanOut"/> at a time.</summary>
    private static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> action) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = IndexFanOut }, async (item, _) => await action(item).ConfigureAwait(false));

    private readonly record struct IndexKey(string PartitionKey, string RowKey);
}
