using System.Globalization;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

public sealed partial class SqliteAccessStore
{
    /// <summary>Insert-only: an event whose id is already stored is ignored, even if its other fields differ (the
    /// first write of an at-least-once activity wins; the log never changes).</summary>
    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ValidateAuditEvent(auditEvent);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var insert = AuditInsert(connection, transaction: null);
        BindAuditEvent(insert, auditEvent);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every event in one <c>BEGIN IMMEDIATE</c> transaction, in list order, with one prepared insert: one commit
    /// (and one WAL sync) for the lot. Insert-only like <see cref="AppendAsync"/>; all or none.</summary>
    public async Task AppendManyAsync(IReadOnlyList<AuditEvent> auditEvents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvents);
        foreach (var auditEvent in auditEvents)
        {
            ValidateAuditEvent(auditEvent);
        }

        if (auditEvents.Count == 0)
        {
            return;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var insert = AuditInsert(connection, transaction);
        foreach (var auditEvent in auditEvents)
        {
            insert.Parameters.Clear();
            BindAuditEvent(insert, auditEvent);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static void ValidateAuditEvent(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentException.ThrowIfNullOrEmpty(auditEvent.Id);
    }

    private static SqliteCommand AuditInsert(SqliteConnection connection, SqliteTransaction? transaction) => Command(
        connection,
        """
        INSERT INTO audit_events (id, request_id, at_utc_ticks, at_offset_min, type, actor, channel, detail)
        VALUES ($id, $request, $ticks, $offset, $type, $actor, $channel, $detail)
        ON CONFLICT (id) DO NOTHING
        """,
        transaction);

    private static void BindAuditEvent(SqliteCommand insert, AuditEvent auditEvent)
    {
        insert.Parameters.AddWithValue("$id", auditEvent.Id);
        insert.Parameters.AddWithValue("$request", auditEvent.RequestId);
        insert.Parameters.AddWithValue("$ticks", auditEvent.At.UtcTicks);
        insert.Parameters.AddWithValue("$offset", (int)auditEvent.At.Offset.TotalMinutes);
        insert.Parameters.AddWithValue("$type", auditEvent.Type);
        insert.Parameters.AddWithValue("$actor", auditEvent.Actor);
        insert.Parameters.AddWithValue("$channel", auditEvent.Channel);
        insert.Parameters.AddWithValue("$detail", (object?)auditEvent.Detail ?? DBNull.Value);
    }

    /// <summary>Oldest first by instant; events at the same instant in the order they were appended.</summary>
    async Task<IReadOnlyList<AuditEvent>> IAuditLog.ListAsync(string requestId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(
            connection,
            """
            SELECT id, request_id, at_utc_ticks, at_offset_min, type, actor, channel, detail
            FROM audit_events WHERE request_id = $request ORDER BY at_utc_ticks, seq
            """);
        select.Parameters.AddWithValue("$request", requestId);
        var events = new List<AuditEvent>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(ReadAuditEvent(reader));
        }

        return events;
    }

    /// <summary>Oldest first by instant, then append order (<c>seq</c>); the token holds the last (instant, seq) served.</summary>
    async Task<AuditPage> IAuditLog.QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var (afterTicks, afterSeq) = (long.MinValue, long.MinValue);
        if (query.ContinuationToken is not null)
        {
            var (ticks, tieBreak) = AuditContinuationToken.Decode(query);
            afterTicks = ticks;
            afterSeq = long.TryParse(tieBreak, NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
                ? seq
                : throw PositionToken.Invalid(nameof(AuditQuery.ContinuationToken));
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(
            connection,
            """
            SELECT id, request_id, at_utc_ticks, at_offset_min, type, actor, channel, detail, seq
            FROM audit_events
            WHERE at_utc_ticks >= $since AND at_utc_ticks < $until AND (at_utc_ticks, seq) > ($afterTicks, $afterSeq)
            ORDER BY at_utc_ticks, seq
            LIMIT $limit
            """);
        select.Parameters.AddWithValue("$since", query.Since.UtcTicks);
        select.Parameters.AddWithValue("$until", query.Until.UtcTicks);
        select.Parameters.AddWithValue("$afterTicks", afterTicks);
        select.Parameters.AddWithValue("$afterSeq", afterSeq);

        // One more than a page: tells whether a next page exists without a token that leads to an empty page.
        select.Parameters.AddWithValue("$limit", query.PageSize + 1);
        var events = new List<AuditEvent>();
        var seqs = new List<long>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(ReadAuditEvent(reader));
            seqs.Add(reader.GetInt64(8));
        }

        if (events.Count <= query.PageSize)
        {
            return new AuditPage(events, null);
        }

        events.RemoveAt(events.Count - 1);
        var token = AuditContinuationToken.Encode(events[^1].At.UtcTicks, seqs[events.Count - 1].ToString(CultureInfo.InvariantCulture), query);
        return new AuditPage(events, token);
    }

    private static AuditEvent ReadAuditEvent(SqliteDataReader reader)
    {
        var at = new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(reader.GetInt32(3)));
        return new AuditEvent(
            reader.GetString(0),
            reader.GetString(1),
            at,
            reader.GetString(4),
            reader.GetString(5),
            reader.GetString(6),
            reader.IsDBNull(7) ? null : reader.GetString(7));
    }
}
