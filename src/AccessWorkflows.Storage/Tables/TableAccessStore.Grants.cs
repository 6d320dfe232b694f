using System.Text.Json;

namespace AccessWorkflows.Storage.Tables;

// Grant ledger: one entity per key (PartitionKey = account id, RowKey = user|permission) holding the sorted holder
// list. Add and remove are read-modify-write on the entity's ETag, so each change and the count it returns are atomic
// per key; the entity is inserted by the first holder (409 → someone else did: read again) and deleted, ETag-checked,
// with the last.
public sealed partial class TableAccessStore
{
    public Task<int> AddHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default) =>
        ChangeHoldersAsync(key, requestId, add: true, cancellationToken);

    public Task<int> RemoveHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default) =>
        ChangeHoldersAsync(key, requestId, add: false, cancellationToken);

    /// <summary>Holders in ordinal order of request id.</summary>
    public async Task<IReadOnlyList<string>> GetHoldersAsync(GrantKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = await client.GetAsync(GrantsTable, TableKeys.Escape(key.AccountId), GrantRowKey(key), cancellationToken).ConfigureAwait(false);
        return entity is null ? [] : Holders(entity);
    }

    /// <summary>Ordered by user name, then permission; holders in ordinal order of request id.</summary>
    async Task<IReadOnlyList<GrantHolding>> IGrantLedger.ListAsync(string accountId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entities = await client.QueryAllAsync(GrantsTable, "PartitionKey eq " + TableRestClient.Literal(TableKeys.Escape(accountId)), cancellationToken).ConfigureAwait(false);
        return
        [
            .. entities
                .Select(e => new GrantHolding(new GrantKey(accountId, e.Required("UserName"), e.Required("Permission")), Holders(e)))
                .Where(h => h.RequestIds.Count > 0)
                .OrderBy(h => h.Key.UserName, StringComparer.Ordinal)
                .ThenBy(h => h.Key.Permission, StringComparer.Ordinal),
        ];
    }

    private async Task<int> ChangeHoldersAsync(GrantKey key, string requestId, bool add, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var partitionKey = TableKeys.Escape(key.AccountId);
        var rowKey = GrantRowKey(key);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var entity = await client.GetAsync(GrantsTable, partitionKey, rowKey, cancellationToken).ConfigureAwait(false);
            var holders = entity is null ? [] : Holders(entity);
            var present = holders.Contains(requestId, StringComparer.Ordinal);
            if (present == add)
            {
                return holders.Count; // already so: idempotent
            }

            var next = add
                ? [.. holders.Append(requestId).Order(StringComparer.Ordinal)]
                : holders.Where(h => h != requestId).ToList();
            TableWriteResult result;
            if (entity is null)
            {
                result = await client.InsertAsync(GrantsTable, GrantEntity(key, partitionKey, rowKey, next), cancellationToken).ConfigureAwait(false);
            }
            else if (next.Count == 0)
            {
                result = new TableWriteResult(await client.DeleteAsync(GrantsTable, partitionKey, rowKey, entity.ETag!, cancellationToken).ConfigureAwait(false));
            }
            else
            {
                result = await client.ReplaceAsync(GrantsTable, GrantEntity(key, partitionKey, rowKey, next), entity.ETag!, cancellationToken).ConfigureAwait(false);
            }

            if (result.Succeeded)
            {
                return next.Count;
            }

            // Conflict (created meanwhile), PreconditionFailed (changed meanwhile), NotFound (deleted meanwhile):
            // read again and re-apply.
        }

        throw TooManyConflicts($"grant {key.AccountId}/{key.UserName}/{key.Permission}");
    }

    private static string GrantRowKey(GrantKey key) => TableKeys.Join(key.UserName, key.Permission);

    private static TableEntity GrantEntity(GrantKey key, string partitionKey, string rowKey, List<string> holders)
    {
        var entity = new TableEntity(partitionKey, rowKey)
        {
            ["UserName"] = key.UserName,
            ["Permission"] = key.Permission,
        };
        EntityChunks.Write(entity, "Holders", JsonSerializer.Serialize(holders, StoreJson.Options));
        return entity;
    }

    private static List<string> Holders(TableEntity entity) =>
        JsonSerializer.Deserialize<List<string>>(EntityChunks.Read(entity, "Holders") ?? "[]", StoreJson.Options) ?? [];
}
