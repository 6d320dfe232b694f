namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>What every <see cref="IConversationStore"/> must do.</summary>
public abstract class ConversationStoreContract : StoreContract<IConversationStore>
{
    private const string Reference = """{"serviceUrl":"https://smba.example/teams/","conversation":{"id":"19:abc@thread.tacv2"}}""";

    [Fact]
    public async Task Get_of_an_unknown_key_is_null()
    {
        var store = await CreateStoreAsync();

        Assert.Null(await store.GetAsync("channel:19:nope"));
    }

    [Fact]
    public async Task Save_then_get_returns_the_reference_verbatim()
    {
        var store = await CreateStoreAsync();

        await store.SaveAsync("channel:19:abc@thread.tacv2", Reference);

        Assert.Equal(Reference, await store.GetAsync("channel:19:abc@thread.tacv2"));
        Assert.Null(await store.GetAsync("user:alice@example.com"));
    }

    [Fact]
    public async Task Saving_an_existing_key_replaces_the_reference()
    {
        var store = await CreateStoreAsync();
        await store.SaveAsync("user:alice@example.com", Reference);

        await store.SaveAsync("user:alice@example.com", """{"conversation":{"id":"a:newer"}}""");

        Assert.Equal("""{"conversation":{"id":"a:newer"}}""", await store.GetAsync("user:alice@example.com"));
    }

    [Fact]
    public async Task References_survive_reopening()
    {
        var store = await CreateStoreAsync();
        await store.SaveAsync("user:alice@example.com", Reference);

        var reopened = await ReopenStoreAsync();

        Assert.Equal(Reference, await reopened.GetAsync("user:alice@example.com"));
    }
}
