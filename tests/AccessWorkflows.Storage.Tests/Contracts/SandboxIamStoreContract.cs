namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>What every <see cref="ISandboxIamStore"/> must do.</summary>
public abstract class SandboxIamStoreContract : StoreContract<ISandboxIamStore>
{
    private const string Account = "111122223333";
    private const string ReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    private const string PowerUser = "arn:aws:iam::aws:policy/PowerUserAccess";

    [Fact]
    public async Task A_user_is_created_on_first_update()
    {
        var store = await CreateStoreAsync();
        Assert.Null(await store.GetUserAsync(Account, "alice"));
        SandboxUser? seen = null;

        var updated = await store.UpdateUserAsync(Account, "alice", u =>
        {
            seen = u;
            return u with { AttachedPolicies = [.. u.AttachedPolicies, ReadOnly] };
        });

        Assert.Equal(SandboxUser.Empty(Account, "alice").AttachedPolicies, seen!.AttachedPolicies);
        Assert.Empty(seen.Groups);
        Assert.Equal([ReadOnly], updated.AttachedPolicies);
        var loaded = await store.GetUserAsync(Account, "alice");
        Assert.NotNull(loaded);
        Assert.Equal(Account, loaded.AccountId);
        Assert.Equal("alice", loaded.UserName);
        Assert.Equal([ReadOnly], loaded.AttachedPolicies);
        Assert.Empty(loaded.Groups);
    }

    [Fact]
    public async Task An_update_that_changes_nothing_still_creates_the_user()
    {
        var store = await CreateStoreAsync();

        await store.UpdateUserAsync(Account, "alice", u => u);

        var loaded = await store.GetUserAsync(Account, "alice");
        Assert.NotNull(loaded);
        Assert.Empty(loaded.AttachedPolicies);
    }

    [Fact]
    public async Task Lists_are_kept_sorted_and_distinct()
    {
        var store = await CreateStoreAsync();

        var updated = await store.UpdateUserAsync(Account, "alice", u => u with
        {
            AttachedPolicies = [ReadOnly, PowerUser, ReadOnly],
            Groups = ["Developers", "Admins", "Developers"],
        });

        Assert.Equal([PowerUser, ReadOnly], updated.AttachedPolicies);
        Assert.Equal(["Admins", "Developers"], updated.Groups);
        var loaded = await store.GetUserAsync(Account, "alice");
        Assert.Equal([PowerUser, ReadOnly], loaded!.AttachedPolicies);
        Assert.Equal(["Admins", "Developers"], loaded.Groups);
    }

    [Fact]
    public async Task Updates_see_the_previous_state_and_can_remove()
    {
        var store = await CreateStoreAsync();
        await store.UpdateUserAsync(Account, "alice", u => u with { AttachedPolicies = [ReadOnly, PowerUser], Groups = ["Developers"] });

        var updated = await store.UpdateUserAsync(Account, "alice", u => u with
        {
            AttachedPolicies = [.. u.AttachedPolicies.Where(p => p != ReadOnly)],
            Groups = [],
        });

        Assert.Equal([PowerUser], updated.AttachedPolicies);
        Assert.Empty(updated.Groups);
        Assert.Equal([PowerUser], (await store.GetUserAsync(Account, "alice"))!.AttachedPolicies);
    }

    [Fact]
    public async Task Users_are_kept_apart_by_account_and_name()
    {
        var store = await CreateStoreAsync();
        await store.UpdateUserAsync(Account, "alice", u => u with { Groups = ["A"] });
        await store.UpdateUserAsync("444455556666", "alice", u => u with { Groups = ["B"] });
        await store.UpdateUserAsync(Account, "bob", u => u with { Groups = ["C"] });

        Assert.Equal(["A"], (await store.GetUserAsync(Account, "alice"))!.Groups);
        Assert.Equal(["B"], (await store.GetUserAsync("444455556666", "alice"))!.Groups);
        Assert.Equal(["C"], (await store.GetUserAsync(Account, "bob"))!.Groups);
        Assert.Null(await store.GetUserAsync("444455556666", "bob"));
    }

    [Fact]
    public async Task Listing_an_account_returns_its_users_by_name_with_their_holdings_and_no_other_accounts()
    {
        var store = await CreateStoreAsync();
        await store.UpdateUserAsync(Account, "bob@example.com", u => u with { Groups = ["Developers"] });
        await store.UpdateUserAsync(Account, "alice/ops@example.com", u => u with { AttachedPolicies = [ReadOnly] });
        await store.UpdateUserAsync("444455556666", "carol@example.com", u => u with { Groups = ["Admins"] });

        var users = await store.ListUsersAsync(Account);

        Assert.Equal(["alice/ops@example.com", "bob@example.com"], users.Select(u => u.UserName));
        Assert.Equal([ReadOnly], users[0].AttachedPolicies);
        Assert.Equal(["Developers"], users[1].Groups);
        Assert.All(users, u => Assert.Equal(Account, u.AccountId));
        Assert.Empty(await store.ListUsersAsync("999999999999"));
    }

    [Fact]
    public async Task Concurrent_updates_of_one_user_lose_nothing_even_when_racing_to_create_it()
    {
        var store = await CreateStoreAsync();
        const int writers = 12;

        await RaceAsync(writers, i => store.UpdateUserAsync(Account, "alice", u => u with { Groups = [.. u.Groups, $"group-{i:D2}"] }));

        var loaded = await store.GetUserAsync(Account, "alice");
        Assert.Equal(Enumerable.Range(0, writers).Select(i => $"group-{i:D2}"), loaded!.Groups);
    }

    [Fact]
    public async Task Users_survive_reopening()
    {
        var store = await CreateStoreAsync();
        await store.UpdateUserAsync(Account, "alice", u => u with { AttachedPolicies = [ReadOnly], Groups = ["Developers"] });

        var reopened = await ReopenStoreAsync();
        var loaded = await reopened.GetUserAsync(Account, "alice");

        Assert.Equal([ReadOnly], loaded!.AttachedPolicies);
        Assert.Equal(["Developers"], loaded.Groups);
        var updated = await reopened.UpdateUserAsync(Account, "alice", u => u with { AttachedPolicies = [.. u.AttachedPolicies, PowerUser] });
        Assert.Equal([PowerUser, ReadOnly], updated.AttachedPolicies);
    }
}
