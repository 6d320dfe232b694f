namespace AccessWorkflows.Storage.Sqlite;

public sealed partial class SqliteAccessStore
{
    async Task IMessageRefStore.SaveAsync(MessageRef messageRef, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messageRef);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var upsert = Command(
            connection,
            """
            INSERT INTO message_refs (request_id, channel, recipient, kind, address, message_id)
            VALUES ($request, $channel, $recipient, $kind, $address, $message)
            ON CONFLICT (request_id, channel, recipient, kind) DO UPDATE SET address = excluded.address, message_id = excluded.message_id
            """);
        upsert.Parameters.AddWithValue("$request", messageRef.RequestId);
        upsert.Parameters.AddWithValue("$channel", messageRef.Channel);
        upsert.Parameters.AddWithValue("$recipient", messageRef.Recipient);
        upsert.Parameters.AddWithValue("$kind", messageRef.Kind);
        upsert.Parameters.AddWithValue("$address", messageRef.Address);
        upsert.Parameters.AddWithValue("$message", messageRef.MessageId);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ordered by recipient, then kind.</summary>
    async Task<IReadOnlyList<MessageRef>> IMessageRefStore.ListAsync(string requestId, string channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(channel);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(
            connection,
            """
            SELECT recipient, kind, address, message_id FROM message_refs
            WHERE request_id = $request AND channel = $channel ORDER BY recipient, kind
            """);
        select.Parameters.AddWithValue("$request", requestId);
        select.Parameters.AddWithValue("$channel", channel);
        var refs = new List<MessageRef>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            refs.Add(new MessageRef(requestId, channel, reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return refs;
    }

    public async Task<bool> IsDoneAsync(string deliveryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveryKey);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, "SELECT 1 FROM deliveries WHERE delivery_key = $key");
        select.Parameters.AddWithValue("$key", deliveryKey);
        return await select.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task MarkDoneAsync(string deliveryKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryKey);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var insert = Command(
            connection,
            "INSERT INTO deliveries (delivery_key, done_at) VALUES ($key, $at) ON CONFLICT (delivery_key) DO NOTHING");
        insert.Parameters.AddWithValue("$key", deliveryKey);
        insert.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.UtcTicks);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task IConversationStore.SaveAsync(string key, string referenceJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(referenceJson);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var upsert = Command(
            connection,
            """
            INSERT INTO conversations (key, reference_json) VALUES ($key, $json)
            ON CONFLICT (key) DO UPDATE SET reference_json = excluded.reference_json
            """);
        upsert.Parameters.AddWithValue("$key", key);
        upsert.Parameters.AddWithValue("$json", referenceJson);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task<string?> IConversationStore.GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, "SELECT reference_json FROM conversations WHERE key = $key");
        select.Parameters.AddWithValue("$key", key);
        return await select.ExecuteScalarAsync(cancellationToken) as string;
    }
}
