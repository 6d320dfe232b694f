namespace AccessWorkflows.Storage;

/// <summary>
/// Where each chat message about a request went, so it can be replaced in place on every change (Slack
/// <c>chat.update</c>, Teams UpdateActivity), and which deliveries are done, so a re-run activity sends nothing twice.
/// </summary>
public interface IMessageRefStore
{
    /// <summary>Saves or replaces the ref with the same (request, channel, recipient, kind).</summary>
    Task SaveAsync(MessageRef messageRef, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MessageRef>> ListAsync(string requestId, string channel, CancellationToken cancellationToken = default);

    /// <summary>True when <see cref="MarkDoneAsync"/> was called with this key.</summary>
    Task<bool> IsDoneAsync(string deliveryKey, CancellationToken cancellationToken = default);

    Task MarkDoneAsync(string deliveryKey, CancellationToken cancellationToken = default);
}

/// <param name="Channel">slack, teams.</param>
/// <param name="Recipient">An approver channel id, or a requester's user id / email.</param>
/// <param name="Kind">approval, requester.</param>
/// <param name="Address">Where the message lives (Slack channel id; Teams serviceUrl + conversation id).</param>
/// <param name="MessageId">Slack ts; Teams activity id.</param>
public sealed record MessageRef(string RequestId, string Channel, string Recipient, string Kind, string Address, string MessageId);

/// <summary>Teams conversation references (from installation updates), by key (e.g. <c>channel:19:...</c>, <c>user:email</c>).</summary>
public interface IConversationStore
{
    Task SaveAsync(string key, string referenceJson, CancellationToken cancellationToken = default);

    Task<string?> GetAsync(string key, CancellationToken cancellationToken = default);
}
