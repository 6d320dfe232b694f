using AccessWorkflows.Storage.Tables;
using AccessWorkflows.Storage.Tests.Contracts;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Storage.Tests.Tables;

// The same contracts as SQLite, on TableAccessStore against Azurite: each test gets its own table prefix; "reopen" is
// a new store (new pipeline, no shared state) on the same tables.

/// <summary>A fresh set of tables on the process's Azurite.</summary>
public sealed class AzuriteTables
{
    private readonly string _prefix = Azurite.NewTablePrefix();

    public async Task<TableAccessStore> OpenAsync()
    {
        var azurite = await Azurite.SharedAsync();
        return new TableAccessStore(new TableStoreOptions { ConnectionString = azurite.ConnectionString, TablePrefix = _prefix });
    }
}

public sealed class TableRequestStoreTests : RequestStoreContract
{
    private readonly AzuriteTables _tables = new();

    protected override async Task<IRequestStore> CreateStoreAsync() => await _tables.OpenAsync();

    protected override async Task<IRequestStore> ReopenStoreAsync() => await _tables.OpenAsync();
}

public sealed class TableAuditLogTests : AuditLogContract
{
    private readonly AzuriteTables _tables = new();

    protected override async Task<IAuditLog> CreateStoreAsync() => await _tables.OpenAsync();

    protected override async Task<IAuditLog> ReopenStoreAsync() => await _tables.OpenAsync();
}

public sealed class TableGrantLedgerTests : GrantLedgerContract
{
    private readonly AzuriteTables _tables = new();

    protected override async Task<IGrantLedger> CreateStoreAsync() => await _tables.OpenAsync();

    protected override async Task<IGrantLedger> ReopenStoreAsync() => await _tables.OpenAsync();
}

public sealed class TableSandboxIamStoreTests : SandboxIamStoreContract
{
    private readonly AzuriteTables _tables = new();

    protected override async Task<ISandboxIamStore> CreateStoreAsync() => await _tables.OpenAsync();

    protected override async Task<ISandboxIamStore> ReopenStoreAsync() => await _tables.OpenAsync();
}

public sealed class TableMessageRefStoreTests : MessageRefStoreContract
{
    private readonly AzuriteTables _tables = new();

    protected override async Task<IMessageRefStore> CreateStoreAsync() => await _tables.OpenAsync();

    protected override async Task<IMessageRefStore> ReopenStoreAsync() => await _tables.OpenAsync();
}

public sealed class TableConversationStoreTests : ConversationStoreContract
{
    private readonly AzuriteTables _tables = new();

    protected override async Task<IConversationStore> CreateStoreAsync() => await _tables.OpenAsync();

    protected override async Task<IConversationStore> ReopenStoreAsync() => await _tables.OpenAsync();
}
