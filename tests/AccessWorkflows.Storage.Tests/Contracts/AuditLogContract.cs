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
    public async Task Append_many_writes_every_event_in_list_order_and_keeps_the_first_write_of_an_id()
    {
        var log = await CreateStoreAsync();
        var earlier = new AuditEvent("x-0", "req-1", TestData.T0, "decision.refused", "mallory@example.com", "teams", "first");
        await log.AppendAsync(earlier);

        // All at one instant, so only the order of the list orders them; ids sort the other way round.
        var batch = Enumerable.Range(1, 50)
            .Select(i => new AuditEvent($"x-{100 - i:D3}", "req-1", TestData.T0, "decision.refused", "mallory@example.com", "teams", $"click {i}"))
            .Prepend(earlier with { Detail = "rewritten history" })
            .ToList();

        await log.AppendManyAsync(batch);

        var listed = await log.ListAsync("req-1");
        Assert.Equal(batch.Select(e => e.Id), listed.Select(e => e.Id));
        Assert.Equal(earlier, listed[0]);
        Assert.Equal("click 50", listed[^1].Detail);
    }

    [Fact]
    public async Task Append_many_of_nothing_writes_nothing()
    {
        var log = await CreateStoreAsync();

        await log.AppendManyAsync([]);

        Assert.Empty(await log.ListAsync("req-1"));
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

    [Fact]
    public async Task Export_lists_every_request_and_account_event_in_range_oldest_first()
    {
        var log = await CreateStoreAsync();
        var evening = new AuditEvent("e-evening", "req-2", TestData.T0.AddHours(14).AddMinutes(30), "request.expired", "system", "system", null);
        var nextDay = new AuditEvent("e-next-day", "account:111122223333", TestData.T0.AddDays(1), "account.drift", "system", "system", "drift");
        var morning = new AuditEvent("e-morning", "req-1", TestData.T0, "request.created", "alice@example.com", "api", "policy");

        // Same instant as T0 + 1 h, written in another offset (and on the previous local day): the export orders by instant.
        var otherOffset = new AuditEvent("e-offset", "req-2", TestData.T0.AddHours(1).ToOffset(TimeSpan.FromHours(-10)), "decision.approved", "lead@example.com", "slack", null);
        var account = new AuditEvent("e-account", "account:111122223333", TestData.T0.AddMinutes(30), "reconcile.removed", "system", "system", "removed");
        foreach (var e in new[] { evening, nextDay, morning, otherOffset, account })
        {
            await log.AppendAsync(e);
        }

        var page = await log.QueryAsync(new AuditQuery(TestData.T0.AddDays(-1), TestData.T0.AddDays(2)));

        Assert.Equal([morning, account, otherOffset, evening, nextDay], page.Items);
        Assert.Equal(otherOffset.At.Offset, page.Items[2].At.Offset);
        Assert.Null(page.ContinuationToken);
    }

    [Fact]
    public async Task Export_bounds_are_since_inclusive_and_until_exclusive()
    {
        var log = await CreateStoreAsync();
        var since = TestData.T0;
        var until = TestData.T0.AddHours(1);
        await log.AppendAsync(new AuditEvent("before", "req-1", since.AddTicks(-1), "request.created", "alice@example.com", "api", null));
        await log.AppendAsync(new AuditEvent("at-since", "req-1", since, "request.pending", "system", "system", null));
        await log.AppendAsync(new AuditEvent("last-tick", "req-1", until.AddTicks(-1), "request.approved", "system", "system", null));
        await log.AppendAsync(new AuditEvent("at-until", "req-1", until, "request.active", "system", "system", null));

        var page = await log.QueryAsync(new AuditQuery(since, until));

        Assert.Equal(["at-since", "last-tick"], page.Items.Select(e => e.Id));
        Assert.Empty((await log.QueryAsync(new AuditQuery(until.AddTicks(1), until.AddDays(1)))).Items);
    }

    [Fact]
    public async Task Export_pages_through_events_at_the_same_instant_in_append_order_without_gaps_or_repeats()
    {
        var log = await CreateStoreAsync();
        var appended = new List<string>();
        await log.AppendAsync(new AuditEvent("early", "req-0", TestData.T0.AddSeconds(-1), "request.created", "alice@example.com", "api", null));
        appended.Add("early");

        // Seven events at one instant with ids out of alphabetical order, over several requests: only append order ties them.
        foreach (var id in new[] { "z", "b", "y", "c", "x", "d", "w" })
        {
            await log.AppendAsync(new AuditEvent(id, $"req-{id}", TestData.T0, "request.created", "alice@example.com", "api", null));
            appended.Add(id);
        }

        await log.AppendAsync(new AuditEvent("late", "req-0", TestData.T0.AddSeconds(1), "request.pending", "system", "system", null));
        appended.Add("late");

        // 9 events in pages of 3: the last page is full, and no token leads to an empty page.
        var range = new AuditQuery(TestData.T0.AddMinutes(-1), TestData.T0.AddMinutes(1), PageSize: 3);
        var pages = new List<AuditPage>();
        string? token = null;
        do
        {
            var page = await log.QueryAsync(range with { ContinuationToken = token });
            pages.Add(page);
            token = page.ContinuationToken;
        }
        while (token is not null);

        Assert.Equal([3, 3, 3], pages.Select(p => p.Items.Count));
        Assert.Equal(appended, pages.SelectMany(p => p.Items).Select(e => e.Id));
    }

    [Fact]
    public async Task Export_shows_an_event_appended_again_once_at_its_first_instant()
    {
        var log = await CreateStoreAsync();
        var original = new AuditEvent("e-1", "req-1", TestData.T0, "decision.recorded", "lead@example.com", "slack", "approved");

        await log.AppendAsync(original);
        await log.AppendAsync(original);
        await log.AppendAsync(original with { Detail = "rewritten history", At = TestData.T0.AddDays(3) });
        await RaceAsync(4, async _ =>
        {
            await log.AppendAsync(original with { At = TestData.T0.AddHours(2) });
            return 0;
        });

        Assert.Equal([original], (await log.QueryAsync(new AuditQuery(TestData.T0.AddDays(-1), TestData.T0.AddDays(5)))).Items);
        Assert.Empty((await log.QueryAsync(new AuditQuery(TestData.T0.AddHours(1), TestData.T0.AddDays(5)))).Items);
    }

    [Fact]
    public async Task Export_continues_on_a_reopened_store_with_the_token_of_the_first()
    {
        var log = await CreateStoreAsync();
        for (var i = 0; i < 4; i++)
        {
            await log.AppendAsync(new AuditEvent($"e-{i}", "req-1", TestData.T0.AddMinutes(i), "request.pending", "system", "system", null));
        }

        var range = new AuditQuery(TestData.T0, TestData.T0.AddHours(1), PageSize: 2);
        var first = await log.QueryAsync(range);

        var second = await (await ReopenStoreAsync()).QueryAsync(range with { ContinuationToken = first.ContinuationToken });

        Assert.Equal(["e-0", "e-1"], first.Items.Select(e => e.Id));
        Assert.Equal(["e-2", "e-3"], second.Items.Select(e => e.Id));
        Assert.Null(second.ContinuationToken);
    }

    [Fact]
    public async Task Export_refuses_a_forged_foreign_or_malformed_token()
    {
        var log = await CreateStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await log.AppendAsync(new AuditEvent($"e-{i}", "req-1", TestData.T0.AddMinutes(i), "request.pending", "system", "system", null));
        }

        var range = new AuditQuery(TestData.T0, TestData.T0.AddHours(1), PageSize: 1);
        var token = (await log.QueryAsync(range)).ContinuationToken!;
        var middle = token.Length / 2;
        var flipped = token[..middle] + (token[middle] == 'A' ? 'B' : 'A') + token[(middle + 1)..];

        foreach (var bad in new[] { flipped, token[..^2], token + "A", "not a token", "!!!!", new string('A', 5000), "AQ" })
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(() => log.QueryAsync(range with { ContinuationToken = bad }));
        }

        // A genuine token continues only the range it came from.
        await Assert.ThrowsAnyAsync<ArgumentException>(() => log.QueryAsync(range with { Until = range.Until.AddTicks(1), ContinuationToken = token }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => log.QueryAsync(range with { Since = range.Since.AddTicks(-1), ContinuationToken = token }));
        Assert.Equal(["e-1"], (await log.QueryAsync(range with { ContinuationToken = token })).Items.Select(e => e.Id));
    }

    [Theory]
    [InlineData(0, 60)]
    [InlineData(1001, 60)]
    [InlineData(10, 0)]
    [InlineData(10, -60)]
    public async Task Export_refuses_a_page_size_out_of_bounds_or_an_empty_range(int pageSize, int minutes)
    {
        var log = await CreateStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => log.QueryAsync(new AuditQuery(TestData.T0, TestData.T0.AddMinutes(minutes), pageSize)));
    }

    [Fact]
    public async Task Export_serves_a_full_page_of_a_thousand_events()
    {
        var log = await CreateStoreAsync();
        await RaceAsync(8, async worker =>
        {
            for (var i = worker; i < 1001; i += 8)
            {
                await log.AppendAsync(new AuditEvent($"e-{i:D4}", $"req-{i % 13}", TestData.T0.AddSeconds(i), "request.pending", "system", "system", null));
            }

            return 0;
        });

        var range = new AuditQuery(TestData.T0, TestData.T0.AddDays(1), PageSize: AuditQuery.MaxPageSize);
        var first = await log.QueryAsync(range);
        var rest = await log.QueryAsync(range with { ContinuationToken = first.ContinuationToken });

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"e-{i:D4}"), first.Items.Select(e => e.Id));
        Assert.Equal(["e-1000"], rest.Items.Select(e => e.Id));
        Assert.Null(rest.ContinuationToken);
    }
}
