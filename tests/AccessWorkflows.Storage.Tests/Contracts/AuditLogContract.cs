namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>What every <see cref="IAuditLog"/> must do.</summary>
public abstract class AuditLogContract : StoreContract<IAuditLog>
{
    [Fact]
    public async Task Append_then_list_round_trips_every_field()
    {
        var log = await CreateStoreAsync();
        var withDetail = new AuditEvent("e-1", "req-1", TestData.T0, "request.created", "alice@example.com", "slack", "policy ReadOnlyAccess for 2h");
        var withoutDetail = new AuditEvent("e-2", "req-1", TestData.T0.AddSeconds(1), "status.active", "system", "system", null);

        await log.AppendAsync(withDetail);
        await log.AppendAsync(withoutDetail);

        Assert.Equal([withDetail, withoutDetail], await log.ListAsync("req-1"));
    }

    [Fact]
    public async Task Listing_an_unknown_request_is_empty()
    {
        var log = await CreateStoreAsync();

        Assert.Empty(await log.ListAsync("nope"));
    }

    [Fact]
    public async Task Append_is_idempotent_on_the_event_id_and_the_first_write_wins()
    {
        var log = await CreateStoreAsync();
        var original = new AuditEvent("e-1", "req-1", TestData.T0, "decision.recorded", "lead@example.com", "slack", "approved");

        await log.AppendAsync(original);
        await log.AppendAsync(original);
        await log.AppendAsync(original with { Detail = "rewritten history", At = TestData.T0.AddHours(1) });

        Assert.Equal([original], await log.ListAsync("req-1"));
    }

    [Fact]
    public async Task Events_list_oldest_first_by_instant_then_in_append_order()
    {
        var log = await CreateStoreAsync();
        var late = new AuditEvent("z-late", "req-1", TestData.T0.AddMinutes(2), "status.expired", "system", "system", null);

        // Same instant as T0 + 1 min, written in another offset: ordering is by instant, not by local time.
        var middleOtherOffset = new AuditEvent("a-middle", "req-1", TestData.T0.AddMinutes(1).ToOffset(TimeSpan.FromHours(5)), "status.active", "system", "system", null);
        var firstOfTie = new AuditEvent("m-first", "req-1", TestData.T0, "request.created", "alice@example.com", "api", null);
        var secondOfTie = new AuditEvent("b-second", "req-1", TestData.T0, "notification.sent", "system", "system", null);
        var earliestLocalButLater = new AuditEvent("c-offset", "req-1", TestData.T0.AddMinutes(1).AddSeconds(30).ToOffset(TimeSpan.FromHours(-8)), "decision.recorded", "lead@example.com", "teams", null);

        foreach (var e in new[] { late, firstOfTie, earliestLocalButLater, secondOfTie, middleOtherOffset })
        {
            await log.AppendAsync(e);
        }

        var listed = await log.ListAsync("req-1");

        Assert.Equal(["m-first", "b-second", "a-middle", "c-offset", "z-late"], listed.Select(e => e.Id));
        Assert.Equal(middleOtherOffset.At, listed[2].At);
    }

    [Fact]
    public async Task Events_of_other_requests_stay_out()
    {
        var log = await CreateStoreAsync();
        await log.AppendAsync(new AuditEvent("e-1", "req-1", TestData.T0, "request.created", "alice@example.com", "api", null));
        await log.AppendAsync(new AuditEvent("e-2", "req-2", TestData.T0, "request.created", "bob@example.com", "api", null));
        await log.AppendAsync(new AuditEvent("e-3", "account:111122223333", TestData.T0, "grant.reconciled", "system", "system", null));

        Assert.Equal(["e-1"], (await log.ListAsync("req-1")).Select(e => e.Id));
        Assert.Equal(["e-3"], (await log.ListAsync("account:111122223333")).Select(e => e.Id));
    }

    [Fact]
    public async Task A_64_KB_detail_round_trips_intact()
    {
        var log = await CreateStoreAsync();

        // 64 Ki characters mixing ASCII, accents, CJK and an astral-plane emoji, so no store may assume one byte per char.
        const string Unit = "detail: ünïcödé 访问 🔐 \"quoted\" <b>&amp;</b>\n";
        var detail = string.Concat(Enumerable.Repeat(Unit, (64 * 1024 / Unit.Length) + 1))[..(64 * 1024)];
        if (char.IsHighSurrogate(detail[^1]))
        {
            detail = detail[..^1] + "x";
        }

        var big = new AuditEvent("e-big", "req-1", TestData.T0, "decision.refused", "mallory@example.com", "webhook", detail);

        await log.AppendAsync(big);

        var listed = Assert.Single(await log.ListAsync("req-1"));
        Assert.Equal(64 * 1024, listed.Detail!.Length);
        Assert.Equal(detail, listed.Detail);
    }

    [Fact]
    public async Task Concurrent_appends_of_the_same_event_store_it_once()
    {
        var log = await CreateStoreAsync();
        var e = new AuditEvent("e-1", "req-1", TestData.T0, "request.created", "alice@example.com", "api", null);

        await RaceAsync(8, async _ =>
        {
            await log.AppendAsync(e);
            return 0;
        });

        Assert.Equal([e], await log.ListAsync("req-1"));
    }

    [Fact]
    public async Task Events_survive_reopening()
    {
        var log = await CreateStoreAsync();
        var first = new AuditEvent("e-1", "req-1", TestData.T0, "request.created", "alice@example.com", "api", "x");
        await log.AppendAsync(first);

        var reopened = await ReopenStoreAsync();
        var second = new AuditEvent("e-2", "req-1", TestData.T0, "status.pending", "system", "system", null);
        await reopened.AppendAsync(first with { Detail = "again" });
        await reopened.AppendAsync(second);

        Assert.Equal([first, second], await reopened.ListAsync("req-1"));
    }
}
