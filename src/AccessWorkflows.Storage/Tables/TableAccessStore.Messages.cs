namespace AccessWorkflows.Storage.Tables;

// Message refs: PartitionKey = request|channel, RowKey = recipient|kind, replaced on save (Insert Or Replace).
// Delivery keys and conversation references: one partition per key (they are only ever read by key).
public sealed partial class TableAccessStore
{
    private const string SingleRowKey = "value";

    async Task IMessageRefStore.SaveAsync(MessageRef messageRef, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messageRef);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(TableKeys.Join(messageRef.RequestId, messageRef.Channel), TableKeys.Join(messageRef.Recipient, messageRef.Kind))
        {
            ["RequestId"] = messageRef.RequestId,
            ["Channel"] = messageRef.Channel,
            ["Recipient"] = messageRef.Recipient,
            ["Kind"] = messageRef.Kind,
            ["Address"] = messageRef.Address,
            ["MessageId"] = messageRef.MessageId,
        };
        await client.UpsertAsync(MessageRefsTable, entity, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ordered by recipient, then kind.</summary>
    async Task<IReadOnlyList<MessageRef>> IMessageRefStore.ListAsync(string requestId, string channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(channel);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entities = await client.QueryAllAsync(MessageRefsTable, "PartitionKey eq " + TableRestClient.Literal(TableKeys.Join(requestId, channel)), cancellationToken).ConfigureAwait(false);
        return
        [
            .. entities
                .Select(e => new MessageRef(requestId, channel, e.Required("Recipient"), e.Required("Kind"), e.Required("Address"), e.Required("MessageId")))
                .OrderBy(r => r.Recipient, StringComparer.Ordinal)
                .ThenBy(r => r.Kind, StringComparer.Ordinal),
        ];
    }

    public async Task<bool> IsDoneAsync(string deliveryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveryKey);
        if (deliveryKey.Length == 0)
        {
            return false;
        }

        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        return await client.GetAsync(DeliveriesTable, TableKeys.Escape(deliveryKey), SingleRowKey, cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task MarkDoneAsync(string deliveryKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryKey);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(TableKeys.Escape(deliveryKey), SingleRowKey)
        {
            ["DoneAt"] = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };

        // Insert, not replace: the first mark is the one that counts; 409 means it is done already.
        await client.InsertAsync(DeliveriesTable, entity, cancellationToken).ConfigureAwait(false);
    }

    async Task IConversationStore.SaveAsync(string key, string referenceJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(referenceJson);
        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(TableKeys.Escape(key), SingleRowKey);
        EntityChunks.Write(entity, "Reference", referenceJson);
        await client.UpsertAsync(ConversationsTable, entity, cancellationToken).ConfigureAwait(false);
    }

    async Task<string?> IConversationStore.GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            return null;
        }

        var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
        var entity = await client.GetAsync(ConversationsTable, TableKeys.Escape(key), SingleRowKey, cancellationToken).ConfigureAwait(false);
        return entity is null ? null : EntityChunks.Read(entity, "Reference");
    }
}
