using AccessWorkflows.Requests;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Storage.Tests.Sqlite;

/// <summary>
/// The batched writer of refusals' audit entries on the real SQLite store: every refusal queued lands, in the order
/// queued, and a clean stop writes what is still queued before it returns.
/// </summary>
public sealed class RefusalAuditWriterTests : IDisposable
{
    private readonly SqliteTestDatabase database = new();

    [Fact]
    public async Task Every_refusal_queued_lands_in_the_order_queued_and_the_stop_writes_what_is_still_queued()
    {
        IAuditLog store = database.Open();
        using var writer = new RefusalAuditWriter(store, NullLogger<RefusalAuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        // One instant for all, so the log orders them by append order alone; ids sort the other way round.
        var refusals = Enumerable.Range(0, 3 * RefusalAuditWriter.MaxBatch).Select(i => Refusal($"r-{9999 - i:D4}")).ToList();
        foreach (var refusal in refusals)
        {
            await writer.WriteAsync(refusal);
        }

        // Stopped at once: whatever the writer had not written yet is written before StopAsync returns.
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(refusals, await store.ListAsync("req-1"));
    }

    [Fact]
    public async Task Refusals_from_many_callers_at_once_all_land_once()
    {
        IAuditLog store = database.Open();
        using var writer = new RefusalAuditWriter(store, NullLogger<RefusalAuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < 250; i++)
            {
                await writer.WriteAsync(Refusal($"c{caller}-{i:D3}"));
            }
        })));
        await writer.StopAsync(CancellationToken.None);

        var listed = await store.ListAsync("req-1");
        Assert.Equal(8 * 250, listed.Select(e => e.Id).Distinct().Count());
        for (var caller = 0; caller < 8; caller++)
        {
            // Each caller's refusals keep that caller's order.
            var prefix = $"c{caller}-";
            var own = listed.Where(e => e.Id.StartsWith(prefix, StringComparison.Ordinal)).Select(e => e.Id).ToList();
            Assert.Equal(own.Order(StringComparer.Ordinal), own);
        }
    }

    [Fact]
    public async Task Before_the_start_and_after_the_stop_a_refusal_is_written_before_WriteAsync_returns()
    {
        IAuditLog store = database.Open();
        using var writer = new RefusalAuditWriter(store, NullLogger<RefusalAuditWriter>.Instance);

        await writer.WriteAsync(Refusal("before-start"));
        Assert.Equal(["before-start"], (await store.ListAsync("req-1")).Select(e => e.Id));

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        await writer.WriteAsync(Refusal("after-stop"));

        Assert.Equal(["before-start", "after-stop"], (await store.ListAsync("req-1")).Select(e => e.Id));
    }

    [Fact]
    public async Task A_batch_the_store_refuses_is_written_again_and_the_stop_waits_for_it()
    {
        var store = new FailingOnce(database.Open());
        using var writer = new RefusalAuditWriter(store, NullLogger<RefusalAuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        await writer.WriteAsync(Refusal("r-1"));
        await writer.WriteAsync(Refusal("r-2"));
        await writer.StopAsync(CancellationToken.None);

        Assert.True(store.Failed);
        Assert.Equal(["r-1", "r-2"], (await store.ListAsync("req-1")).Select(e => e.Id));
    }

    [Fact]
    public async Task Only_refusals_may_wait()
    {
        IAuditLog store = database.Open();
        using var writer = new RefusalAuditWriter(store, NullLogger<RefusalAuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(Refusal("r-1") with { Type = "decision.recorded" }));

        await writer.StopAsync(CancellationToken.None);
        Assert.Empty(await store.ListAsync("req-1"));
    }

    public void Dispose() => database.Dispose();

    private static AuditEvent Refusal(string id) =>
        new(id, "req-1", Contracts.TestData.T0, RefusalAuditWriter.RefusedType, "mallory@example.com", "teams", "mallory@example.com is not an approver of a level this request has been sent to.");

    /// <summary>The store, except that its first batch fails as a busy database would.</summary>
    private sealed class FailingOnce(IAuditLog inner) : IAuditLog
    {
        private int _calls;

        public bool Failed => Volatile.Read(ref _calls) > 1;

        public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default) => inner.AppendAsync(auditEvent, cancellationToken);

        public Task AppendManyAsync(IReadOnlyList<AuditEvent> auditEvents, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1
                ? Task.FromException(new InvalidOperationException("database is locked"))
                : inner.AppendManyAsync(auditEvents, cancellationToken);

        public Task<IReadOnlyList<AuditEvent>> ListAsync(string requestId, CancellationToken cancellationToken = default) => inner.ListAsync(requestId, cancellationToken);

        public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);
    }
}
