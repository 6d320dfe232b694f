using System.Collections.Concurrent;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Slack.Tests.Fakes;

public sealed class InMemoryMessageRefStore : IMessageRefStore
{
    private readonly ConcurrentDictionary<(string, string, string, string), MessageRef> _refs = new();
    private readonly ConcurrentDictionary<string, byte> _done = new();

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

/// <summary>Wall-clock time shifted by an offset a test moves, so a request signed "now" can be replayed later.</summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
