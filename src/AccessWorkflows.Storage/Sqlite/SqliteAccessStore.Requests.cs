using System.Text;
using System.Text.Json;
using AccessWorkflows.Requests;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

public sealed partial class SqliteAccessStore
{
    /// <summary>Upper bound of <see cref="RequestQuery.PageSize"/>; larger pages are refused, not clamped.</summary>
    public const int MaxPageSize = 1000;

    public async Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Id);
        var body = JsonSerializer.Serialize(request, StoreJson.Options);

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var insert = Command(
            connection,
            """
            INSERT INTO requests (id, status, requester, created_at, version, body)
            VALUES ($id, $status, $requester, $created, 1, $body)
            ON CONFLICT (id) DO NOTHING
            """,
            transaction))
        {
            insert.Parameters.AddWithValue("$id", request.Id);
            insert.Parameters.AddWithValue("$status", request.Status.WireName());
            insert.Parameters.AddWithValue("$requester", request.Requester.ToLowerInvariant());
            insert.Parameters.AddWithValue("$created", request.CreatedAt.UtcTicks);
            insert.Parameters.AddWithValue("$body", body);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false; // disposing the transaction rolls back (nothing was written anyway)
            }
        }

        await WriteParticipantsAsync(transaction, request, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var row = await ReadRequestAsync(connection, id, cancellationToken);
        return row is null ? null : Deserialize(row.Value.Body);
    }

    /// <summary>
    /// Optimistic read-modify-write: <paramref name="mutate"/> runs on a fresh deserialized copy outside any
    /// transaction, and the result is written only if the row's version is still the one read; otherwise the whole
    /// thing runs again on the newer row. So <paramref name="mutate"/> may run several times and must be a pure
    /// function of the request it is given. An exception from it propagates and nothing is written.
    /// </summary>
    public async Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(mutate);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var row = await ReadRequestAsync(connection, id, cancellationToken)
                ?? throw new KeyNotFoundException($"No request {id}.");
            var request = Deserialize(row.Body);
            if (!mutate(request))
            {
                // The mutation may have touched the copy before declining: hand back what is stored.
                return Deserialize(row.Body);
            }

            if (request.Id != id)
            {
                throw new InvalidOperationException($"The mutation of request {id} changed its id.");
            }

            await using var transaction = connection.BeginTransaction(deferred: false);
            await using (var update = Command(
                connection,
                """
                UPDATE requests
                SET status = $status, requester = $requester, created_at = $created, version = version + 1, body = $body
                WHERE id = $id AND version = $version
                """,
                transaction))
            {
                update.Parameters.AddWithValue("$id", id);
                update.Parameters.AddWithValue("$version", row.Version);
                update.Parameters.AddWithValue("$status", request.Status.WireName());
                update.Parameters.AddWithValue("$requester", request.Requester.ToLowerInvariant());
                update.Parameters.AddWithValue("$created", request.CreatedAt.UtcTicks);
                update.Parameters.AddWithValue("$body", JsonSerializer.Serialize(request, StoreJson.Options));
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    continue; // another writer got there first: re-read and re-apply
                }
            }

            await WriteParticipantsAsync(transaction, request, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return request;
        }

        throw TooManyConflicts($"request {id}");
    }

    /// <summary>
    /// Newest first by <see cref="AccessRequest.CreatedAt"/>, ties by id (descending ordinal). Filters compare emails
    /// case-insensitively; <see cref="RequestQuery.Participant"/> matches the requester, the beneficiary, every
    /// approver of the frozen plan, and anyone who recorded a decision.
    /// </summary>
    /// <exception cref="ArgumentException">A tampered or foreign continuation token, or a page size outside 1..<see cref="MaxPageSize"/>.</exception>
    public async Task<RequestPage> QueryAsync(RequestQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1, nameof(query.PageSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.PageSize, MaxPageSize, nameof(query.PageSize));
        (long Ticks, string Id)? after = query.ContinuationToken is { } token ? RequestContinuationToken.Decode(token, query) : null;

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        var sql = new StringBuilder("SELECT r.body, r.created_at, r.id FROM requests r");
        var where = new List<string>();
        if (query.Participant is not null)
        {
            sql.Append(" JOIN request_participants p ON p.request_id = r.id AND p.email = $participant");
            select.Parameters.AddWithValue("$participant", query.Participant.ToLowerInvariant());
        }

        if (query.Status is { } status)
        {
            where.Add("r.status = $status");
            select.Parameters.AddWithValue("$status", status.WireName());
        }

        if (query.Requester is not null)
        {
            where.Add("r.requester = $requester");
            select.Parameters.AddWithValue("$requester", query.Requester.ToLowerInvariant());
        }

        if (query.UnreviewedBreakGlass)
        {
            // Break-glass is rare and the body is the truth: no column of its own, the JSON is read in place.
            where.Add("json_extract(r.body, '$.breakGlass') = 1 AND json_extract(r.body, '$.review') IS NULL");
        }

        if (after is { } position)
        {
            where.Add("(r.created_at < $afterCreated OR (r.created_at = $afterCreated AND r.id < $afterId))");
            select.Parameters.AddWithValue("$afterCreated", position.Ticks);
            select.Parameters.AddWithValue("$afterId", position.Id);
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        // One more than a page: tells whether a next page exists without a token that leads to an empty page.
        sql.Append(" ORDER BY r.created_at DESC, r.id DESC LIMIT $limit");
        select.Parameters.AddWithValue("$limit", query.PageSize + 1);
        select.CommandText = sql.ToString();

        var items = new List<AccessRequest>(Math.Min(query.PageSize, 64));
        (long Ticks, string Id) last = (0, "");
        var more = false;
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (items.Count == query.PageSize)
                {
                    more = true;
                    break;
                }

                items.Add(Deserialize(reader.GetString(0)));
                last = (reader.GetInt64(1), reader.GetString(2));
            }
        }

        return new RequestPage(items, more ? RequestContinuationToken.Encode(last.Ticks, last.Id, query) : null);
    }

    /// <summary>Outside any transaction only (the command is the connection's prepared one).</summary>
    private static async Task<(long Version, string Body)?> ReadRequestAsync(SqliteConnection connection, string id, CancellationToken cancellationToken)
    {
        var (select, owned) = Reusable(connection, "SELECT version, body FROM requests WHERE id = $id");
        await using (owned)
        {
            select.Parameters.Clear();
            select.Parameters.AddWithValue("$id", id);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetString(1)) : null;
        }
    }

    private static async Task WriteParticipantsAsync(SqliteTransaction transaction, AccessRequest request, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        await using (var delete = Command(connection, "DELETE FROM request_participants WHERE request_id = $id", transaction))
        {
            delete.Parameters.AddWithValue("$id", request.Id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        var emails = request.Participants
            .Concat(request.Decisions.Select(d => d.Approver))
            .Select(e => e.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal);
        await using var insert = Command(connection, "INSERT OR IGNORE INTO request_participants (email, request_id) VALUES ($email, $id)", transaction);
        var email = insert.Parameters.Add("$email", SqliteType.Text);
        insert.Parameters.AddWithValue("$id", request.Id);
        foreach (var e in emails)
        {
            email.Value = e;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static AccessRequest Deserialize(string body) =>
        JsonSerializer.Deserialize<AccessRequest>(body, StoreJson.Options)
        ?? throw new InvalidDataException("A stored request is null.");
}
