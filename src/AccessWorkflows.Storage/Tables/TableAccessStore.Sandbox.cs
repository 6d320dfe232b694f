using System.Text.Json;

namespace AccessWorkflows.Storage.Tables;

// Sandbox IAM users: PartitionKey = account id, RowKey = user name; lists as JSON. Read-modify-write on the ETag,
// created by the first update (409 → someone else created it: read again and re-apply).
public sealed partial class TableAccessStore
{
    public async Task<SandboxUser?> GetUserAsync(string accountId, string userName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ArgumentNullException.ThrowIfNull(userName);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = await client.GetAsync(SandboxTable, TableKeys.Escape(accountId), TableKeys.Escape(userName), cancellationToken).ConfigureAwait(false);
        return entity is null ? null : ToSandboxUser(accountId, userName, entity);
    }

    /// <summary>Ordered by user name (ordinal).</summary>
    public async Task<IReadOnlyList<SandboxUser>> ListUsersAsync(string accountId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entities = await client.QueryAllAsync(SandboxTable, "PartitionKey eq " + TableRestClient.Literal(TableKeys.Escape(accountId)), cancellationToken).ConfigureAwait(false);
        return [.. entities.Select(e => ToSandboxUser(accountId, TableKeys.Unescape(e.RowKey), e)).OrderBy(u => u.UserName, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Optimistic read-modify-write like <see cref="UpdateAsync"/>: <paramref name="mutate"/> may run several times.
    /// The result is normalized (lists sorted ordinally and distinct) before it is stored and returned; a result
    /// naming another account or user is refused with <see cref="InvalidOperationException"/>.
    /// </summary>
    public async Task<SandboxUser> UpdateUserAsync(string accountId, string userName, Func<SandboxUser, SandboxUser> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(mutate);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var partitionKey = TableKeys.Escape(accountId);
        var rowKey = TableKeys.Escape(userName);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var entity = await client.GetAsync(SandboxTable, partitionKey, rowKey, cancellationToken).ConfigureAwait(false);
            var current = entity is null ? SandboxUser.Empty(accountId, userName) : ToSandboxUser(accountId, userName, entity);
            var next = mutate(current) ?? throw new InvalidOperationException("The mutation of a sandbox user returned null.");
            if (next.AccountId != accountId || next.UserName != userName)
            {
                throw new InvalidOperationException($"The mutation of sandbox user {accountId}/{userName} changed its identity.");
            }

            next = next with { AttachedPolicies = Normalize(next.AttachedPolicies), Groups = Normalize(next.Groups) };
            var write = new TableEntity(partitionKey, rowKey);
            EntityChunks.Write(write, "AttachedPolicies", JsonSerializer.Serialize(next.AttachedPolicies, StoreJson.Options));
            EntityChunks.Write(write, "Groups", JsonSerializer.Serialize(next.Groups, StoreJson.Options));
            var result = entity is null
                ? await client.InsertAsync(SandboxTable, write, cancellationToken).ConfigureAwait(false)
                : await client.ReplaceAsync(SandboxTable, write, entity.ETag!, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return next;
            }

            // Created or changed by another writer since the read: re-read and re-apply.
        }

        throw TooManyConflicts($"sandbox user {accountId}/{userName}");
    }

    private static SandboxUser ToSandboxUser(string accountId, string userName, TableEntity entity) => new(
        accountId,
        userName,
        JsonSerializer.Deserialize<string[]>(EntityChunks.Read(entity, "AttachedPolicies") ?? "[]", StoreJson.Options) ?? [],
        JsonSerializer.Deserialize<string[]>(EntityChunks.Read(entity, "Groups") ?? "[]", StoreJson.Options) ?? []);

    private static string[] Normalize(IReadOnlyList<string>? values) =>
        values is null ? [] : [.. values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
