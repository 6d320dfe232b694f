using System.Collections.Concurrent;

namespace AccessWorkflows.Notifications;

/// <summary>
/// The in-process channel: keeps what would be sent, so the server runs with no chat configured and the page at
/// <c>/</c> and tests can show it. Bounded: keeps the most recent notifications only.
/// </summary>
public sealed class RecordingNotificationChannel : INotificationChannel
{
    public const string ChannelName = "inprocess";
    private const int Capacity = 10_000;
    private readonly ConcurrentQueue<Notification> _sent = new();
    private readonly ConcurrentDictionary<string, byte> _ids = new();

    public string Name => ChannelName;

    public IReadOnlyList<Notification> Sent => [.. _sent];

    public Task DeliverAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        if (_ids.TryAdd(notification.Id, 0))
        {
            _sent.Enqueue(notification);
            while (_sent.Count > Capacity && _sent.TryDequeue(out var old))
            {
                _ids.TryRemove(old.Id, out _);
            }
        }

        return Task.CompletedTask;
    }

    public IReadOnlyList<Notification> For(string requestId) => [.. _sent.Where(n => n.Request.Id == requestId)];
}
