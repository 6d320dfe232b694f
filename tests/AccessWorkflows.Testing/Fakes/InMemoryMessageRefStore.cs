using System.Collections.Concurrent;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Testing.Fakes;

/// <summary>Message refs and delivery keys in memory, for channel tests that run without a real store.</summary>
public sealed class InMemoryMessageRefStore : IMessageRefStore
{
    private readonly ConcurrentDictionary<(string, string, string, string), MessageRef> _refs = new();
    private readonly ConcurrentDictionary<string, byte> _done = new();

    public IReadOnlyCollection<MessageRef> All => [.. _refs.Values];

    public Task SaveAsync(MessageRef messageRef, CancellationToken cancellationToken = default)
    {
        _refs[(messageRef.RequestId, messageRef.Channel, messageRef.Recipient, messageRef.Kind)] = messageRef;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<MessageRef>> ListAsync(string requestId, string channel, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<MessageRef>>([.. _refs.Values.Where(r => r.RequestId == requestId && r.Channel == channel)]);

    public Task<bool> IsDoneAsync(string deliveryKey, CancellationToken cancellationToken = default) => Task.FromResult(_done.ContainsKey(deliveryKey));

    public Task MarkDoneAsync(string deliveryKey, CancellationToken cancellationToken = default)
    {
        _done[deliveryKey] = 0;
        return Task.CompletedTask;
    }
}
