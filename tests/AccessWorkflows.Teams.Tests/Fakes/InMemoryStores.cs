using System.Collections.Concurrent;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Teams.Tests.Fakes;

public sealed class InMemoryConversationStore : IConversationStore
{
    public ConcurrentDictionary<string, string> Items { get; } = new();

    public Task SaveAsync(string key, string referenceJson, CancellationToken cancellationToken = default)
    {
        Items[key] = referenceJson;
        return Task.CompletedTask;
    }

    public Task<string?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult(Items.TryGetValue(key, out var v) ? v : null);
}
