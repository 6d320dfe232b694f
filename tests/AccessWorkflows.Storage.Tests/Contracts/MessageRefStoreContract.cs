namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>What every <see cref="IMessageRefStore"/> must do: message refs and delivery keys.</summary>
public abstract class MessageRefStoreContract : StoreContract<IMessageRefStore>
{
    [Fact]
    public async Task Saved_refs_list_by_request_and_channel()
    {
        var store = await CreateStoreAsync();
        var approval = new MessageRef("req-1", "slack", "C0123", "approval", "C0123", "1710408413.000100");
        var requester = new MessageRef("req-1", "slack", "alice@example.com", "requester", "D0456", "1710408414.000200");
        await store.SaveAsync(approval);
        await store.SaveAsync(requester);
        await store.SaveAsync(new MessageRef("req-1", "teams", "19:abc@thread.tacv2", "approval", "https://smba.example/teams|19:abc", "activity-1"));
        await store.SaveAsync(new MessageRef("req-2", "slack", "C0123", "approval", "C0123", "1710408415.000300"));

        var listed = await store.ListAsync("req-1", "slack");

        Assert.Equal(2, listed.Count);
        Assert.Contains(approval, listed);
        Assert.Contains(requester, listed);
        Assert.Equal("activity-1", Assert.Single(await store.ListAsync("req-1", "teams")).MessageId);
        Assert.Empty(await store.ListAsync("req-3", "slack"));
    }

    [Fact]
    public async Task Saving_the_same_request_channel_recipient_and_kind_replaces_the_ref()
    {
        var store = await CreateStoreAsync();
        var original = new MessageRef("req-1", "slack", "C0123", "approval", "C0123", "1710408413.000100");
        await store.SaveAsync(original);

        var replacement = original with { Address = "C0999", MessageId = "1710408999.000900" };
        await store.SaveAsync(replacement);

        Assert.Equal([replacement], await store.ListAsync("req-1", "slack"));
    }

    [Fact]
    public async Task Refs_differing_only_in_kind_or_recipient_are_kept_apart()
    {
        var store = await CreateStoreAsync();
        var approval = new MessageRef("req-1", "slack", "alice@example.com", "approval", "D1", "1.1");
        await store.SaveAsync(approval);
        await store.SaveAsync(approval with { Kind = "requester", MessageId = "2.2" });
        await store.SaveAsync(approval with { Recipient = "bob@example.com", MessageId = "3.3" });

        Assert.Equal(["1.1", "2.2", "3.3"], (await store.ListAsync("req-1", "slack")).Select(r => r.MessageId).Order());
    }

    [Fact]
    public async Task Delivery_keys_are_done_once_marked_and_marking_twice_is_harmless()
    {
        var store = await CreateStoreAsync();

        Assert.False(await store.IsDoneAsync("req-1:approval:slack:C0123:level-1"));
        await store.MarkDoneAsync("req-1:approval:slack:C0123:level-1");
        await store.MarkDoneAsync("req-1:approval:slack:C0123:level-1");

        Assert.True(await store.IsDoneAsync("req-1:approval:slack:C0123:level-1"));
        Assert.False(await store.IsDoneAsync("req-1:approval:slack:C0123:level-2"));
        Assert.False(await store.IsDoneAsync("REQ-1:approval:slack:C0123:level-1"));
    }

    [Fact]
    public async Task Refs_and_delivery_keys_survive_reopening()
    {
        var store = await CreateStoreAsync();
        var saved = new MessageRef("req-1", "teams", "user:alice@example.com", "requester", "https://smba.example/teams|a:1", "activity-7");
        await store.SaveAsync(saved);
        await store.MarkDoneAsync("delivery-1");

        var reopened = await ReopenStoreAsync();

        Assert.Equal([saved], await reopened.ListAsync("req-1", "teams"));
        Assert.True(await reopened.IsDoneAsync("delivery-1"));
    }
}
