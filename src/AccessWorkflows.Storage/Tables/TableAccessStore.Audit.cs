using System.Globalization;

namespace AccessWorkflows.Storage.Tables;

// Audit events: PartitionKey = request id, RowKey = event id, so "append once" is an Insert whose 409 Conflict means
// "already there" (the first write wins, nothing is ever replaced: the store never updates or deletes an audit
// entity). The order (instant, then append order) cannot be in the RowKey without breaking that idempotency, so each
// event carries its instant and a monotonic append stamp, and a listing sorts a request's partition by them.
public sealed partial class TableAccessStore
{
    private static long s_lastAppendStamp;

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
        if (result.Outcome is not (TableWriteOutcome.Done or TableWriteOutcome.Conflict))
        {
            throw new InvalidOperationException($"Appending audit event {auditEvent.Id} answered {result.Outcome}.");
        }
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

    private static AuditEvent ToAuditEvent(TableEntity e)
    {
        var offset = TimeSpan.FromMinutes(int.Parse(e.Required("AtOffsetMinutes"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
        var at = new DateTimeOffset(long.Parse(e.Required("AtTicks"), NumberStyles.None, CultureInfo.InvariantCulture), TimeSpan.Zero).ToOffset(offset);
        return new AuditEvent(e.Required("Id"), e.Required("RequestId"), at, e.Required("Type"), e.Required("Actor"), e.Required("Channel"), EntityChunks.Read(e, "Detail"));
    }

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
