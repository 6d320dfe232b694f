using System.Globalization;

namespace AccessWorkflows.Storage.Tables;

// Audit events: PartitionKey = request id, RowKey = event id, so "append once" is an Insert whose 409 Conflict means
// "already there" (the first write wins, nothing is ever replaced: the store never updates or deletes an audit
// entity). The order (instant, then append order) cannot be in the RowKey without breaking that idempotency, so each
// event carries its instant and a monotonic append stamp, and a listing sorts a request's partition by them.
//
// The export (a time range over every request) reads a second copy of each event in the AuditByTime table:
// PartitionKey = the UTC day of its instant, RowKey = instant ticks | append stamp | event id, so a range is one
// ordered scan. The copy is written after the primary and always from the primary as stored: a retried append (409 on
// the primary) reads the stored event and writes its copy, so the copy's keys come from the first write only and a
// retry with another instant cannot create a second copy; and a retry heals a copy lost to a crash between the two.
public sealed partial class TableAccessStore
{
    /// <summary>The marker written once every event appended before the AuditByTime table existed has its copy.</summary>
    private const string BackfillPartition = "~meta";
    private const string BackfillRowKey = "backfill-v1";

    private static long s_lastAppendStamp;
    private volatile bool _timeIndexComplete;

    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentException.ThrowIfNullOrEmpty(auditEvent.Id);
        ArgumentNullException.ThrowIfNull(auditEvent.RequestId);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(TableKeys.Escape(auditEvent.RequestId), TableKeys.Escape(auditEvent.Id))
        {
            ["Id"] = auditEvent.Id,
            ["RequestId"] = auditEvent.RequestId,
            ["AtTicks"] = auditEvent.At.UtcTicks.ToString("D19", CultureInfo.InvariantCulture),
            ["AtOffsetMinutes"] = ((int)auditEvent.At.Offset.TotalMinutes).ToString(CultureInfo.InvariantCulture),
            ["AppendStamp"] = NextAppendStamp().ToString("D19", CultureInfo.InvariantCulture),
            ["Type"] = auditEvent.Type,
            ["Actor"] = auditEvent.Actor,
            ["Channel"] = auditEvent.Channel,
        };
        EntityChunks.Write(entity, "Detail", auditEvent.Detail);

        var result = await client.InsertAsync(AuditTable, entity, cancellationToken).ConfigureAwait(false);
        var stored = result.Outcome switch
        {
            TableWriteOutcome.Done => entity,
            TableWriteOutcome.Conflict => await client.GetAsync(AuditTable, entity.PartitionKey, entity.RowKey, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Audit event {auditEvent.Id} answered 409 and then could not be read."),
            _ => throw new InvalidOperationException($"Appending audit event {auditEvent.Id} answered {result.Outcome}."),
        };

        await WriteTimeCopyAsync(client, stored, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Oldest first by instant; events at the same instant in the order they were appended.</summary>
    async Task<IReadOnlyList<AuditEvent>> IAuditLog.ListAsync(string requestId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entities = await client.QueryAllAsync(AuditTable, "PartitionKey eq " + TableRestClient.Literal(TableKeys.Escape(requestId)), cancellationToken).ConfigureAwait(false);
        return
        [
            .. entities
                .OrderBy(e => e.Required("AtTicks"), StringComparer.Ordinal)
                .ThenBy(e => e.Required("AppendStamp"), StringComparer.Ordinal)
                .ThenBy(e => e.RowKey, StringComparer.Ordinal)
                .Select(ToAuditEvent),
        ];
    }

    /// <summary>
    /// One ordered scan of the AuditByTime table over the days the range touches: the RowKey bounds hold in every one
    /// of them because the RowKey starts with the full instant. The token holds the RowKey of the last event served.
    /// </summary>
    async Task<AuditPage> IAuditLog.QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        string? afterRowKey = null;
        if (query.ContinuationToken is not null)
        {
            var (ticks, tieBreak) = AuditContinuationToken.Decode(query);
            afterRowKey = IsTimeRowKeyTail(tieBreak)
                ? Ticks(ticks) + tieBreak
                : throw PositionToken.Invalid(nameof(AuditQuery.ContinuationToken));
        }

        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTimeIndexCompleteAsync(client, cancellationToken).ConfigureAwait(false);

        var filter = $"PartitionKey ge {TableRestClient.Literal(Day(query.Since.UtcTicks))} and PartitionKey le {TableRestClient.Literal(Day(query.Until.UtcTicks - 1))}"
            + $" and RowKey ge {TableRestClient.Literal(Ticks(query.Since.UtcTicks))} and RowKey lt {TableRestClient.Literal(Ticks(query.Until.UtcTicks))}"
            + (afterRowKey is null ? "" : $" and RowKey gt {TableRestClient.Literal(afterRowKey)}");

        // One more than a page: tells whether a next page exists without a token that leads to an empty page.
        var wanted = query.PageSize + 1;
        var entities = new List<TableEntity>(Math.Min(wanted, 64));
        string? nextPk = null, nextRk = null;
        do
        {
            var page = await client.QueryAsync(AuditByTimeTable, filter, Math.Min(1000, wanted - entities.Count), nextPk, nextRk, cancellationToken).ConfigureAwait(false);
            entities.AddRange(page.Entities.Take(wanted - entities.Count));
            (nextPk, nextRk) = (page.NextPartitionKey, page.NextRowKey);
        }
        while (entities.Count < wanted && (nextPk is not null || nextRk is not null));

        if (entities.Count <= query.PageSize)
        {
            return new AuditPage([.. entities.Select(ToAuditEvent)], null);
        }

        entities.RemoveAt(entities.Count - 1);
        var last = entities[^1];
        var token = AuditContinuationToken.Encode(long.Parse(last.Required("AtTicks"), NumberStyles.None, CultureInfo.InvariantCulture), last.RowKey[19..], query);
        return new AuditPage([.. entities.Select(ToAuditEvent)], token);
    }

    private async Task WriteTimeCopyAsync(TableRestClient client, TableEntity stored, CancellationToken cancellationToken)
    {
        var ticks = long.Parse(stored.Required("AtTicks"), NumberStyles.None, CultureInfo.InvariantCulture);
        var copy = new TableEntity(Day(ticks), TimeRowKey(stored));
        foreach (var (name, value) in stored.Properties)
        {
            copy.Properties[name] = value;
        }

        var result = await client.InsertAsync(AuditByTimeTable, copy, cancellationToken).ConfigureAwait(false);
        if (result.Outcome is not (TableWriteOutcome.Done or TableWriteOutcome.Conflict))
        {
            throw new InvalidOperationException($"Indexing audit event {stored.Required("Id")} by time answered {result.Outcome}.");
        }
    }

    /// <summary>
    /// A store that ran before the AuditByTime table existed has events without a copy: the first export of each
    /// process checks the marker and, when it is missing, copies every stored event (inserts, so copies written
    /// meanwhile by appends are kept) and then writes the marker. Several processes may do it at once; the result is
    /// the same.
    /// </summary>
    private async Task EnsureTimeIndexCompleteAsync(TableRestClient client, CancellationToken cancellationToken)
    {
        if (_timeIndexComplete)
        {
            return;
        }

        if (await client.GetAsync(AuditByTimeTable, BackfillPartition, BackfillRowKey, cancellationToken).ConfigureAwait(false) is null)
        {
            string? nextPk = null, nextRk = null;
            do
            {
                var page = await client.QueryAsync(AuditTable, "PartitionKey ne ''", 1000, nextPk, nextRk, cancellationToken).ConfigureAwait(false);
                await ForEachAsync(page.Entities, e => WriteTimeCopyAsync(client, e, cancellationToken)).ConfigureAwait(false);
                (nextPk, nextRk) = (page.NextPartitionKey, page.NextRowKey);
            }
            while (nextPk is not null || nextRk is not null);

            await client.UpsertAsync(AuditByTimeTable, new TableEntity(BackfillPartition, BackfillRowKey), cancellationToken).ConfigureAwait(false);
        }

        _timeIndexComplete = true;
    }

    private static AuditEvent ToAuditEvent(TableEntity e)
    {
        var offset = TimeSpan.FromMinutes(int.Parse(e.Required("AtOffsetMinutes"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
        var at = new DateTimeOffset(long.Parse(e.Required("AtTicks"), NumberStyles.None, CultureInfo.InvariantCulture), TimeSpan.Zero).ToOffset(offset);
        return new AuditEvent(e.Required("Id"), e.Required("RequestId"), at, e.Required("Type"), e.Required("Actor"), e.Required("Channel"), EntityChunks.Read(e, "Detail"));
    }

    /// <summary><c>{ticks:D19}|{append stamp:D19}|{escaped id}</c>: instant, then append order, then id.</summary>
    private static string TimeRowKey(TableEntity stored) =>
        Ticks(long.Parse(stored.Required("AtTicks"), NumberStyles.None, CultureInfo.InvariantCulture))
        + TableKeys.Separator + stored.Required("AppendStamp") + TableKeys.Separator + TableKeys.Escape(stored.Required("Id"));

    /// <summary>What follows the instant in a time RowKey: <c>|</c>, 19 digits, <c>|</c>, an escaped id.</summary>
    private static bool IsTimeRowKeyTail(string tail) =>
        tail.Length > 21 && tail.Length <= 21 + TableKeys.MaxKeyLength
        && tail[0] == TableKeys.Separator && tail[20] == TableKeys.Separator
        && tail.AsSpan(1, 19).IndexOfAnyExceptInRange('0', '9') < 0
        && tail.AsSpan(21).IndexOf(TableKeys.Separator) < 0;

    private static string Ticks(long utcTicks) => utcTicks.ToString("D19", CultureInfo.InvariantCulture);

    private static string Day(long utcTicks) => new DateTime(utcTicks, DateTimeKind.Utc).ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>Wall-clock ticks, forced strictly increasing within the process, so two appends in a row keep their
    /// order even when the clock does not move between them. Across processes, the clocks order them.</summary>
    private static long NextAppendStamp()
    {
        while (true)
        {
            var last = Interlocked.Read(ref s_lastAppendStamp);
            var next = Math.Max(DateTime.UtcNow.Ticks, last + 1);
            if (Interlocked.CompareExchange(ref s_lastAppendStamp, next, last) == last)
            {
                return next;
            }
        }
    }
}
