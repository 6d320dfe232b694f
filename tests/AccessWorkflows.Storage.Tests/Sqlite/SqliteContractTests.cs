using AccessWorkflows.Storage.Tests.Contracts;

namespace AccessWorkflows.Storage.Tests.Sqlite;

// The contracts run on SqliteAccessStore: each test gets its own file; "reopen" is a new store on the same file.

public sealed class SqliteRequestStoreTests : RequestStoreContract, IDisposable
{
    private readonly SqliteTestDatabase database = new();

    protected override Task<IRequestStore> CreateStoreAsync() => Task.FromResult<IRequestStore>(database.Open());

    protected override Task<IRequestStore> ReopenStoreAsync() => Task.FromResult<IRequestStore>(database.Open());

    public void Dispose() => database.Dispose();
}

public sealed class SqliteAuditLogTests : AuditLogContract, IDisposable
{
    private readonly SqliteTestDatabase database = new();

    protected override Task<IAuditLog> CreateStoreAsync() => Task.FromResult<IAuditLog>(database.Open());

    protected override Task<IAuditLog> ReopenStoreAsync() => Task.FromResult<IAuditLog>(database.Open());

    public void Dispose() => database.Dispose();
}

public sealed class SqliteGrantLedgerTests : GrantLedgerContract, IDisposable
{
    private readonly SqliteTestDatabase database = new();

    protected override Task<IGrantLedger> CreateStoreAsync() => Task.FromResult<IGrantLedger>(database.Open());

    protected override Task<IGrantLedger> ReopenStoreAsync() => Task.FromResult<IGrantLedger>(database.Open());

    public void Dispose() => database.Dispose();
}

public sealed class SqliteSandboxIamStoreTests : SandboxIamStoreContract, IDisposable
{
    private readonly SqliteTestDatabase database = new();

    protected override Task<ISandboxIamStore> CreateStoreAsync() => Task.FromResult<ISandboxIamStore>(database.Open());

    protected override Task<ISandboxIamStore> ReopenStoreAsync() => Task.FromResult<ISandboxIamStore>(database.Open());

    public void Dispose() => database.Dispose();
}

public sealed class SqliteMessageRefStoreTests : MessageRefStoreContract, IDisposable
{
    private readonly SqliteTestDatabase database = new();

    protected override Task<IMessageRefStore> CreateStoreAsync() => Task.FromResult<IMessageRefStore>(database.Open());

    protected override Task<IMessageRefStore> ReopenStoreAsync() => Task.FromResult<IMessageRefStore>(database.Open());

    public void Dispose() => database.Dispose();
}

public sealed class SqliteConversationStoreTests : ConversationStoreContract, IDisposable
{
    private readonly SqliteTestDatabase database = new();

    protected override Task<IConversationStore> CreateStoreAsync() => Task.FromResult<IConversationStore>(database.Open());

    protected override Task<IConversationStore> ReopenStoreAsync() => Task.FromResult<IConversationStore>(database.Open());

    public void Dispose() => database.Dispose();
}
