namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>What every <see cref="IGrantLedger"/> must do.</summary>
public abstract class GrantLedgerContract : StoreContract<IGrantLedger>
{
    private static readonly GrantKey ReadOnly = new("111122223333", "alice", "policy:arn:aws:iam::aws:policy/ReadOnlyAccess");

    [Fact]
    public async Task Overlapping_holders_are_counted_and_each_add_and_remove_is_idempotent()
    {
        var ledger = await CreateStoreAsync();

        Assert.Equal(1, await ledger.AddHolderAsync(ReadOnly, "req-a"));
        Assert.Equal(1, await ledger.AddHolderAsync(ReadOnly, "req-a"));
        Assert.Equal(2, await ledger.AddHolderAsync(ReadOnly, "req-b"));
        Assert.Equal(1, await ledger.RemoveHolderAsync(ReadOnly, "req-a"));
        Assert.Equal(1, await ledger.RemoveHolderAsync(ReadOnly, "req-a"));
        Assert.Equal(["req-b"], await ledger.GetHoldersAsync(ReadOnly));
        Assert.Equal(0, await ledger.RemoveHolderAsync(ReadOnly, "req-b"));
        Assert.Empty(await ledger.GetHoldersAsync(ReadOnly));
    }

    [Fact]
    public async Task Standing_access_is_a_holder_that_keeps_the_count_above_zero_and_survives_reopening()
    {
        var ledger = await CreateStoreAsync();
        await ledger.AddHolderAsync(ReadOnly, GrantHolders.Standing);
        await ledger.AddHolderAsync(ReadOnly, "req-a");

        Assert.Equal(1, await ledger.RemoveHolderAsync(ReadOnly, "req-a"));

        var reopened = await ReopenStoreAsync();
        Assert.Equal([GrantHolders.Standing], await reopened.GetHoldersAsync(ReadOnly));
        var holding = Assert.Single(await reopened.ListAsync(ReadOnly.AccountId));
        Assert.Equal([GrantHolders.Standing], holding.RequestIds);
    }

    [Fact]
    public async Task Removing_from_an_unknown_key_returns_zero()
    {
        var ledger = await CreateStoreAsync();

        Assert.Equal(0, await ledger.RemoveHolderAsync(ReadOnly, "req-a"));
        Assert.Empty(await ledger.GetHoldersAsync(ReadOnly));
    }

    [Fact]
    public async Task Keys_differing_in_any_part_are_counted_apart()
    {
        var ledger = await CreateStoreAsync();
        await ledger.AddHolderAsync(ReadOnly, "req-a");

        Assert.Equal(1, await ledger.AddHolderAsync(ReadOnly with { AccountId = "444455556666" }, "req-b"));
        Assert.Equal(1, await ledger.AddHolderAsync(ReadOnly with { UserName = "bob" }, "req-c"));
        Assert.Equal(1, await ledger.AddHolderAsync(ReadOnly with { Permission = "group:Developers" }, "req-d"));
        Assert.Equal(["req-a"], await ledger.GetHoldersAsync(ReadOnly));
    }

    [Fact]
    public async Task Concurrent_adds_on_one_key_are_all_counted_each_seeing_its_own_count()
    {
        var ledger = await CreateStoreAsync();
        const int holders = 16;

        var counts = await RaceAsync(holders, i => ledger.AddHolderAsync(ReadOnly, $"req-{i:D2}"));

        // Atomic add-and-count: every add saw a distinct number of holders, ending at all of them.
        Assert.Equal(Enumerable.Range(1, holders), counts.Order());
        Assert.Equal(holders, (await ledger.GetHoldersAsync(ReadOnly)).Count);
    }

    [Fact]
    public async Task Concurrent_removes_leave_exactly_the_holders_not_removed()
    {
        var ledger = await CreateStoreAsync();
        for (var i = 0; i < 10; i++)
        {
            await ledger.AddHolderAsync(ReadOnly, $"req-{i}");
        }

        var counts = await RaceAsync(8, i => ledger.RemoveHolderAsync(ReadOnly, $"req-{i}"));

        Assert.Equal(Enumerable.Range(2, 8), counts.Order());
        Assert.Equal(["req-8", "req-9"], (await ledger.GetHoldersAsync(ReadOnly)).Order());
    }

    [Fact]
    public async Task List_returns_every_held_key_of_one_account()
    {
        var ledger = await CreateStoreAsync();
        var group = ReadOnly with { Permission = "group:Developers" };
        var bobs = ReadOnly with { UserName = "bob" };
        var released = ReadOnly with { Permission = "policy:arn:aws:iam::aws:policy/PowerUserAccess" };
        await ledger.AddHolderAsync(ReadOnly, "req-a");
        await ledger.AddHolderAsync(ReadOnly, "req-b");
        await ledger.AddHolderAsync(group, "req-c");
        await ledger.AddHolderAsync(bobs, "req-d");
        await ledger.AddHolderAsync(released, "req-e");
        await ledger.RemoveHolderAsync(released, "req-e");
        await ledger.AddHolderAsync(ReadOnly with { AccountId = "444455556666" }, "req-f");

        var holdings = await ledger.ListAsync("111122223333");

        string[] expected =
        [
            $"{bobs.UserName}|{bobs.Permission}|req-d",
            $"{group.UserName}|{group.Permission}|req-c",
            $"{ReadOnly.UserName}|{ReadOnly.Permission}|req-a,req-b",
        ];
        Assert.Equal(
            expected.Order(StringComparer.Ordinal),
            holdings.Select(h => $"{h.Key.UserName}|{h.Key.Permission}|{string.Join(',', h.RequestIds.Order(StringComparer.Ordinal))}").Order(StringComparer.Ordinal));
        Assert.All(holdings, h => Assert.Equal("111122223333", h.Key.AccountId));
        Assert.Empty(await ledger.ListAsync("999999999999"));
    }

    [Fact]
    public async Task Holders_survive_reopening()
    {
        var ledger = await CreateStoreAsync();
        await ledger.AddHolderAsync(ReadOnly, "req-a");
        await ledger.AddHolderAsync(ReadOnly, "req-b");

        var reopened = await ReopenStoreAsync();

        Assert.Equal(["req-a", "req-b"], (await reopened.GetHoldersAsync(ReadOnly)).Order());
        Assert.Equal(1, await reopened.RemoveHolderAsync(ReadOnly, "req-a"));
        Assert.Single(await reopened.ListAsync(ReadOnly.AccountId));
    }
}
