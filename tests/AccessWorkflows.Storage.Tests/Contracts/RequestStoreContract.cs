using AccessWorkflows.Requests;

namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>What every <see cref="IRequestStore"/> must do.</summary>
public abstract class RequestStoreContract : StoreContract<IRequestStore>
{
    [Fact]
    public async Task Create_then_get_round_trips_every_field()
    {
        var store = await CreateStoreAsync();
        var request = TestData.Complete("req-complete");

        Assert.True(await store.TryCreateAsync(request));
        var loaded = await store.GetAsync("req-complete");

        Assert.NotNull(loaded);
        Assert.Equal(TestData.ToJson(request), TestData.ToJson(loaded));
        Assert.Equal(TimeSpan.FromMinutes(90), loaded.Duration);
        Assert.Equal(TimeSpan.FromMinutes(45), loaded.GrantedDuration);
        Assert.Equal(request.CreatedAt, loaded.CreatedAt);
        Assert.Equal(request.CreatedAt.Offset, loaded.CreatedAt.Offset);
        Assert.Equal(RequestStatus.Revoked, loaded.Status);
        Assert.Equal(request.Decisions, loaded.Decisions);
        Assert.Equal(TimeSpan.FromMinutes(45), loaded.Decisions[0].Duration);
        Assert.Equal(new OnCallPlan(["PSCHED1", "PSCHED2"], 2, TimeSpan.FromHours(1)).Duration, loaded.Approval.OnCall!.Duration);
        Assert.Equal(["PSCHED1", "PSCHED2"], loaded.Approval.OnCall.PagerDutySchedules);
        Assert.Equal(["lead@example.com", "peer@example.com"], loaded.Approval.Levels[0].Approvers);
        Assert.Equal(TimeSpan.FromMinutes(30), loaded.Approval.Levels[0].EscalateAfter);
        Assert.Null(loaded.Approval.Levels[1].EscalateAfter);
        Assert.Equal(TimeSpan.FromHours(4), loaded.Approval.MaxDuration);
        Assert.Equal(request.Access, loaded.Access);
    }

    [Fact]
    public async Task Get_of_an_unknown_id_is_null()
    {
        var store = await CreateStoreAsync();

        Assert.Null(await store.GetAsync("nope"));
    }

    [Fact]
    public async Task Duplicate_create_returns_false_and_changes_nothing()
    {
        var store = await CreateStoreAsync();
        Assert.True(await store.TryCreateAsync(TestData.Pending("req-1")));

        var impostor = TestData.Pending("req-1", requester: "mallory@example.com");
        Assert.False(await store.TryCreateAsync(impostor));

        Assert.Equal("alice@example.com", (await store.GetAsync("req-1"))!.Requester);
        var page = await store.QueryAsync(new RequestQuery(Requester: "mallory@example.com"));
        Assert.Empty(page.Items);
    }

    [Fact]
    public async Task Update_applies_the_mutation_and_returns_the_stored_request()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("req-1"));

        var updated = await store.UpdateAsync("req-1", r => r.Approve(TimeSpan.FromHours(1), "lead@example.com"));

        Assert.Equal(RequestStatus.Approved, updated.Status);
        var loaded = await store.GetAsync("req-1");
        Assert.Equal(RequestStatus.Approved, loaded!.Status);
        Assert.Equal(TimeSpan.FromHours(1), loaded.GrantedDuration);
        Assert.Equal("lead@example.com", loaded.ApprovedBy);
    }

    [Fact]
    public async Task Update_whose_mutation_declines_saves_nothing()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("req-1"));

        var result = await store.UpdateAsync("req-1", r =>
        {
            r.StatusDetail = "scribbled on the copy";
            return false;
        });

        Assert.Null(result.StatusDetail);
        Assert.Null((await store.GetAsync("req-1"))!.StatusDetail);
    }

    [Fact]
    public async Task Update_whose_mutation_throws_saves_nothing_and_propagates()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("req-1"));

        // Activating a pending request is not a move the life cycle allows.
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.UpdateAsync("req-1", r => r.Activate(TestData.T0, TestData.T0.AddHours(1))));

        Assert.Equal(RequestStatus.Pending, (await store.GetAsync("req-1"))!.Status);
    }

    [Fact]
    public async Task Update_of_a_missing_id_throws_KeyNotFound()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.UpdateAsync("missing", _ => true));
    }

    [Fact]
    public async Task Update_retries_on_a_conflicting_write_and_loses_neither_change()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("req-1"));
        var calls = 0;

        // The first run of the mutation lets another writer commit in between its read and its write: the store
        // must notice the conflict, re-read and run the mutation again on the newer request.
        var result = await store.UpdateAsync("req-1", r =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                Task.Run(() => store.UpdateAsync("req-1", other => other.AddDecision(TestData.Decision("from-b")))).GetAwaiter().GetResult();
            }

            return r.AddDecision(TestData.Decision("from-a"));
        });

        Assert.Equal(2, calls);
        Assert.Equal(["from-b", "from-a"], result.Decisions.Select(d => d.Id));
        Assert.Equal(["from-b", "from-a"], (await store.GetAsync("req-1"))!.Decisions.Select(d => d.Id));
    }

    [Fact]
    public async Task Two_writers_racing_on_two_threads_both_land_every_change()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("req-1"));
        const int perWriter = 20;

        await RaceAsync(2, async writer =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                await store.UpdateAsync("req-1", r => r.AddDecision(TestData.Decision($"w{writer}-{i}")));
            }

            return writer;
        });

        var decisions = (await store.GetAsync("req-1"))!.Decisions.Select(d => d.Id).ToHashSet();
        Assert.Equal(2 * perWriter, decisions.Count);
        Assert.Contains("w0-19", decisions);
        Assert.Contains("w1-19", decisions);
    }

    [Fact]
    public async Task Query_filters_by_status_and_follows_status_changes()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("req-1", createdAt: TestData.T0));
        await store.TryCreateAsync(TestData.Pending("req-2", createdAt: TestData.T0.AddMinutes(1)));
        await store.UpdateAsync("req-1", r => r.End(RequestStatus.Denied, TestData.T0.AddMinutes(2), "lead@example.com", null));

        Assert.Equal(["req-1"], Ids(await store.QueryAsync(new RequestQuery(Status: RequestStatus.Denied))));
        Assert.Equal(["req-2"], Ids(await store.QueryAsync(new RequestQuery(Status: RequestStatus.Pending))));
        Assert.Empty((await store.QueryAsync(new RequestQuery(Status: RequestStatus.Active))).Items);
    }

    [Fact]
    public async Task Query_of_unreviewed_break_glass_keeps_them_until_the_review_and_pages_with_its_own_token()
    {
        var store = await CreateStoreAsync();
        for (var i = 1; i <= 3; i++)
        {
            await store.TryCreateAsync(TestData.Pending($"bg-{i}", createdAt: TestData.T0.AddMinutes(i)));
            await store.UpdateAsync($"bg-{i}", r => r.MarkBreakGlass());
        }

        await store.TryCreateAsync(TestData.Pending("plain", createdAt: TestData.T0.AddMinutes(9)));
        var unreviewed = new RequestQuery(PageSize: 2, UnreviewedBreakGlass: true);

        var first = await store.QueryAsync(unreviewed);
        Assert.Equal(["bg-3", "bg-2"], Ids(first));
        Assert.Equal(["bg-1"], Ids(await store.QueryAsync(unreviewed with { ContinuationToken = first.ContinuationToken })));
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new RequestQuery(PageSize: 2, ContinuationToken: first.ContinuationToken)));

        await store.UpdateAsync("bg-2", r => r.MarkReviewed(new BreakGlassReview("lead@example.com", TestData.T0.AddHours(1), "confirmed")));

        Assert.Equal(["bg-3", "bg-1"], Ids(await store.QueryAsync(unreviewed with { PageSize = 50 })));
        Assert.Equal("confirmed", (await store.GetAsync("bg-2"))!.Review!.Comment);
        Assert.Equal(4, (await store.QueryAsync(new RequestQuery())).Items.Count);
    }

    [Fact]
    public async Task Query_filters_by_requester_case_insensitively()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("a-1", "alice@example.com", TestData.T0));
        await store.TryCreateAsync(TestData.Pending("b-1", "bob@example.com", TestData.T0.AddMinutes(1)));
        await store.TryCreateAsync(TestData.Pending("a-2", "alice@example.com", TestData.T0.AddMinutes(2)));

        Assert.Equal(["a-2", "a-1"], Ids(await store.QueryAsync(new RequestQuery(Requester: "alice@example.com"))));
        Assert.Equal(["a-2", "a-1"], Ids(await store.QueryAsync(new RequestQuery(Requester: "Alice@Example.COM"))));
        Assert.Equal(["b-1"], Ids(await store.QueryAsync(new RequestQuery(Requester: "bob@example.com"))));
    }

    [Fact]
    public async Task Query_by_participant_finds_requester_beneficiary_and_approvers_of_every_level()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("r-1", "alice@example.com", TestData.T0, approvers: "lead@example.com"));
        await store.TryCreateAsync(TestData.Pending("r-2", "bob@example.com", TestData.T0.AddMinutes(1), onBehalfOf: "carol@example.com", approvers: "other-lead@example.com"));
        await store.TryCreateAsync(TestData.Pending("r-3", "carol@example.com", TestData.T0.AddMinutes(2), approvers: "lead@example.com"));

        Assert.Equal(["r-3", "r-1"], Ids(await store.QueryAsync(new RequestQuery(Participant: "lead@example.com"))));
        Assert.Equal(["r-3", "r-1"], Ids(await store.QueryAsync(new RequestQuery(Participant: "LEAD@example.com"))));
        Assert.Equal(["r-3", "r-2", "r-1"], Ids(await store.QueryAsync(new RequestQuery(Participant: "head@example.com"))));
        Assert.Equal(["r-3", "r-2"], Ids(await store.QueryAsync(new RequestQuery(Participant: "carol@example.com"))));
        Assert.Equal(["r-2"], Ids(await store.QueryAsync(new RequestQuery(Participant: "bob@example.com"))));
        Assert.Empty((await store.QueryAsync(new RequestQuery(Participant: "mallory@example.com"))).Items);
    }

    [Fact]
    public async Task Query_combines_filters()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Pending("r-1", "alice@example.com", TestData.T0));
        await store.TryCreateAsync(TestData.Pending("r-2", "alice@example.com", TestData.T0.AddMinutes(1)));
        await store.TryCreateAsync(TestData.Pending("r-3", "bob@example.com", TestData.T0.AddMinutes(2)));
        await store.UpdateAsync("r-2", r => r.End(RequestStatus.Denied, TestData.T0.AddMinutes(3), "lead@example.com", null));

        var page = await store.QueryAsync(new RequestQuery(Status: RequestStatus.Pending, Requester: "alice@example.com", Participant: "lead@example.com"));

        Assert.Equal(["r-1"], Ids(page));
    }

    [Fact]
    public async Task Query_pages_newest_first_across_three_pages()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 7; i++)
        {
            await store.TryCreateAsync(TestData.Pending($"alice-{i}", "alice@example.com", TestData.T0.AddMinutes(i)));
            await store.TryCreateAsync(TestData.Pending($"bob-{i}", "bob@example.com", TestData.T0.AddMinutes(i).AddSeconds(30)));
        }

        var first = await store.QueryAsync(new RequestQuery(Requester: "alice@example.com", PageSize: 3));
        var second = await store.QueryAsync(new RequestQuery(Requester: "alice@example.com", PageSize: 3, ContinuationToken: first.ContinuationToken));
        var third = await store.QueryAsync(new RequestQuery(Requester: "alice@example.com", PageSize: 3, ContinuationToken: second.ContinuationToken));

        Assert.Equal(["alice-6", "alice-5", "alice-4"], Ids(first));
        Assert.Equal(["alice-3", "alice-2", "alice-1"], Ids(second));
        Assert.Equal(["alice-0"], Ids(third));
        Assert.NotNull(first.ContinuationToken);
        Assert.NotNull(second.ContinuationToken);
        Assert.Null(third.ContinuationToken);
    }

    [Fact]
    public async Task Query_without_filters_pages_through_everything_exactly_once_even_with_equal_timestamps()
    {
        var store = await CreateStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            // Three requests per instant: paging must neither skip nor repeat within a tie.
            var id = $"req-{i:D2}";
            ids.Add(id);
            await store.TryCreateAsync(TestData.Pending(id, createdAt: TestData.T0.AddMinutes(i / 3)));
        }

        var seen = new List<AccessRequest>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await store.QueryAsync(new RequestQuery(PageSize: 2, ContinuationToken: token));
            seen.AddRange(page.Items);
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null && pages < 20);

        Assert.Equal(5, pages);
        Assert.Equal(ids.Order(), seen.Select(r => r.Id).Order());
        Assert.Equal(seen.Select(r => r.CreatedAt).OrderDescending(), seen.Select(r => r.CreatedAt));
    }

    [Fact]
    public async Task Query_of_an_exactly_full_page_has_no_token()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await store.TryCreateAsync(TestData.Pending($"req-{i}", createdAt: TestData.T0.AddMinutes(i)));
        }

        var page = await store.QueryAsync(new RequestQuery(PageSize: 3));

        Assert.Equal(3, page.Items.Count);
        Assert.Null(page.ContinuationToken);
    }

    [Fact]
    public async Task Query_refuses_a_tampered_or_foreign_continuation_token()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 4; i++)
        {
            await store.TryCreateAsync(TestData.Pending($"req-{i}", createdAt: TestData.T0.AddMinutes(i)));
        }

        var token = (await store.QueryAsync(new RequestQuery(PageSize: 2))).ContinuationToken!;
        var middle = token.Length / 2;
        var flipped = token[..middle] + (token[middle] == 'A' ? 'B' : 'A') + token[(middle + 1)..];

        foreach (var bad in new[] { "not a token!", "%00", flipped, token[..middle], token + token, new string('A', 5000) })
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(() => store.QueryAsync(new RequestQuery(PageSize: 2, ContinuationToken: bad)));
        }

        // A token continues the listing it came from, not another one.
        await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            store.QueryAsync(new RequestQuery(Requester: "alice@example.com", PageSize: 2, ContinuationToken: token)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100_000)]
    public async Task Query_refuses_an_unreasonable_page_size(int pageSize)
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.QueryAsync(new RequestQuery(PageSize: pageSize)));
    }

    [Fact]
    public async Task Requests_survive_reopening()
    {
        var store = await CreateStoreAsync();
        await store.TryCreateAsync(TestData.Complete("req-complete"));
        await store.TryCreateAsync(TestData.Pending("req-2", createdAt: TestData.T0.AddDays(1)));
        await store.UpdateAsync("req-2", r => r.AddDecision(TestData.Decision("d-1")));

        var reopened = await ReopenStoreAsync();

        Assert.Equal(TestData.ToJson(TestData.Complete("req-complete")), TestData.ToJson((await reopened.GetAsync("req-complete"))!));
        Assert.Equal(["req-2", "req-complete"], Ids(await reopened.QueryAsync(new RequestQuery())));
        Assert.Equal(["req-2"], Ids(await reopened.QueryAsync(new RequestQuery(Status: RequestStatus.Pending))));
        Assert.False(await reopened.TryCreateAsync(TestData.Pending("req-2")));
        var updated = await reopened.UpdateAsync("req-2", r => r.AddDecision(TestData.Decision("d-2")));
        Assert.Equal(["d-1", "d-2"], updated.Decisions.Select(d => d.Id));
    }

    private static string[] Ids(RequestPage page) => [.. page.Items.Select(r => r.Id)];
}
