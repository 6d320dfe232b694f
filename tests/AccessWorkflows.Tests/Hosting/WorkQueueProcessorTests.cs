using System.Collections.Concurrent;
using AccessWorkflows.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Tests.Hosting;

/// <summary>The chat channels' ack-then-work queue through the calls a host makes (StartAsync, StopAsync): what a route
/// acknowledged still runs when the host stops cleanly, and only the host's shutdown timeout gives it up.</summary>
public sealed class WorkQueueProcessorTests
{
    private sealed class TestQueue() : WorkQueue(100);

    private readonly TestQueue _queue = new();
    private readonly ConcurrentQueue<string> _done = new();
    private readonly IServiceScopeFactory _scopes = new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>();

    private WorkQueueProcessor<TestQueue> NewProcessor() => new(_queue, _scopes, NullLogger<TestQueue>.Instance);

    private WorkItem Item(string name, Task gate) => new(name, async (_, ct) =>
    {
        await gate.WaitAsync(ct);
        _done.Enqueue(name);
    });

    [Fact]
    public async Task A_clean_stop_runs_the_items_in_flight_and_every_item_still_queued()
    {
        using var processor = NewProcessor();
        await processor.StartAsync(CancellationToken.None);
        var gate = new TaskCompletionSource();
        var names = Enumerable.Range(1, 10).Select(i => $"decision-{i}").ToList();
        foreach (var name in names)
        {
            Assert.True(_queue.TryEnqueue(Item(name, gate.Task)));
        }

        // The four workers hold four items at the gate; six wait in the queue when the host stops.
        var stopping = processor.StopAsync(new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.False(stopping.IsCompleted);
        gate.SetResult();
        await stopping;

        Assert.Equal(names.Order(StringComparer.Ordinal), _done.Order(StringComparer.Ordinal));
        Assert.False(_queue.TryTake(out _));
    }

    [Fact]
    public async Task Past_the_shutdown_timeout_running_items_are_cancelled_and_queued_ones_are_not_started()
    {
        using var processor = NewProcessor();
        await processor.StartAsync(CancellationToken.None);
        var never = new TaskCompletionSource().Task;
        for (var i = 1; i <= 6; i++)
        {
            Assert.True(_queue.TryEnqueue(Item($"stuck-{i}", never)));
        }

        using var shutdownTimeout = new CancellationTokenSource();
        var stopping = processor.StopAsync(shutdownTimeout.Token);
        Assert.False(stopping.IsCompleted);
        await shutdownTimeout.CancelAsync();
        await stopping;

        Assert.Empty(_done);
        Assert.False(_queue.TryTake(out _)); // the two never started were taken off and logged, not left behind
    }
}
