using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>Wakes in-process waiters of <see cref="IDurableClient.WaitForInstanceCompletionAsync"/> when a step
/// finishes an instance.</summary>
internal sealed class CompletionNotifier
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public Task WaitAsync(string instanceId)
        => _waiters.GetOrAdd(instanceId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string instanceId)
    {
        if (_waiters.TryRemove(instanceId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }
}

/// <summary>The engine's <see cref="IDurableClient"/>: every call is one short SQLite transaction, so it works
/// whether or not the engine is started (rows wait for the dispatchers).</summary>
internal sealed class EmbeddedDurableClient(
    SqliteStore store,
    TimeProvider time,
    CompletionNotifier completions,
    Action wakeOrchestrations,
    TimeSpan pollInterval,
    ILogger logger) : IDurableClient
{
    public Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var startAt = options?.StartAt?.UtcDateTime ?? DateTime.MinValue;
        store.CreateInstance(instanceId, orchestratorName.Name, DurableTaskRegistry.Serialize(input), startAt, Now());
        wakeOrchestrations();
        return Task.FromResult(instanceId);
    }

    public Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var now = Now();
        var message = new HistoryEvent(HistoryEventType.EventRaised, now, -1, eventName, DurableTaskRegistry.Serialize(eventPayload));
        if (store.EnqueueToLiveInstance(instanceId, message, visibleAtStart: true, now))
        {
            wakeOrchestrations();
        }
        else
        {
            Log.EventDropped(logger, eventName, instanceId);
        }

        return Task.CompletedTask;
    }

    public Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var row = store.GetInstance(instanceId);
        return Task.FromResult(row is null ? null : ToMetadata(row, getInputsAndOutputs));
    }

    public async IAsyncEnumerable<OrchestrationMetadata> GetAllInstancesAsync(
        OrchestrationQuery? filter = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        filter ??= new OrchestrationQuery();
        var pageSize = Math.Max(1, filter.PageSize);
        (DateTime, string)? after = null;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var page = store.QueryInstances(filter, after, pageSize);
            foreach (var row in page)
            {
                yield return ToMetadata(row, filter.FetchInputsAndOutputs);
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            after = (page[^1].CreatedAt, page[^1].InstanceId);

            // Let a consumer that awaits between pages see other work; pages are synchronous SQLite reads.
            await Task.Yield();
        }
    }

    public Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var now = Now();
        var message = new HistoryEvent(HistoryEventType.ExecutionTerminated, now, -1, null, DurableTaskRegistry.Serialize(options?.Output));
        if (store.EnqueueToLiveInstance(instanceId, message, visibleAtStart: false, now))
        {
            wakeOrchestrations();
        }

        return Task.CompletedTask;
    }

    public Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        return Task.FromResult(new PurgeResult(store.Purge(instanceId)));
    }

    /// <summary>Waits on an in-process signal from the step that finishes the instance, with a slow poll as a
    /// fallback (an instance finished by another engine on the same file). Cancel the token to give up.</summary>
    public async Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        while (true)
        {
            // Subscribe before reading, so a completion between the read and the wait is not missed.
            var finished = completions.WaitAsync(instanceId);
            var row = store.GetInstance(instanceId);
            if (row is { IsTerminal: true })
            {
                return ToMetadata(row, getInputsAndOutputs);
            }

            using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            await Task.WhenAny(finished, Task.Delay(pollInterval, poll.Token)).ConfigureAwait(false);
            await poll.CancelAsync().ConfigureAwait(false);
            cancellation.ThrowIfCancellationRequested();
        }
    }

    private DateTime Now() => time.GetUtcNow().UtcDateTime;

    private static OrchestrationMetadata ToMetadata(InstanceRow row, bool withInputsAndOutputs) => new(row.Name, row.InstanceId)
    {
        RuntimeStatus = row.Status,
        CreatedAt = new DateTimeOffset(row.CreatedAt),
        LastUpdatedAt = new DateTimeOffset(row.UpdatedAt),
        SerializedInput = withInputsAndOutputs ? row.Input : null,
        SerializedOutput = withInputsAndOutputs ? row.Output : null,
        SerializedCustomStatus = row.CustomStatus,
        FailureDetails = row.Failure is null ? null : JsonSerializer.Deserialize<TaskFailureDetails>(row.Failure, DurableJson.Options),
    };
}
