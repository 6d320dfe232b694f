using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>Wakes in-process waiters of <see cref="IDurableClient.WaitForInstanceCompletionAsync"/> when a step
/// finishes an instance, with the instance's final row.</summary>
internal sealed class CompletionNotifier
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InstanceRow>> _waiters = new(StringComparer.Ordinal);

    public Task<InstanceRow> WaitAsync(string instanceId)
        => _waiters.GetOrAdd(instanceId, static _ => new TaskCompletionSource<InstanceRow>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(InstanceRow finished)
    {
        if (_waiters.TryRemove(finished.InstanceId, out var waiter))
        {
            waiter.TrySetResult(finished);
        }
    }
}

/// <summary>The engine's <see cref="IDurableClient"/>. Every change is one write of the store's group commit, and a
/// call returns once it is committed; it works whether or not the engine is started (a stopped engine reads the rows
/// when it starts). Reads see what is committed.</summary>
internal sealed class EmbeddedDurableClient(
    SqliteStore store,
    TimeProvider time,
    CompletionNotifier completions,
    DurableEngine.ClientCallbacks engine,
    TimeSpan pollInterval,
    ILogger logger) : IDurableClient
{
    public async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var startAt = options?.StartAt?.UtcDateTime ?? DateTime.MinValue;
        var serialized = DurableTaskRegistry.Serialize(input);
        var now = Now();
        await store.CreateInstanceAsync(
            instanceId,
            orchestratorName.Name,
            serialized,
            startAt,
            now,
            started => engine.Created(
                new InstanceRow(instanceId, orchestratorName.Name, OrchestrationRuntimeStatus.Pending, started.Generation, serialized, null, null, null, now, now),
                started)).ConfigureAwait(false);
        return instanceId;
    }

    public async Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var now = Now();
        var message = new HistoryEvent(HistoryEventType.EventRaised, now, -1, eventName, DurableTaskRegistry.Serialize(eventPayload));
        if (await store.EnqueueToLiveInstanceAsync(instanceId, message, visibleAtStart: true, now, engine.Enqueued).ConfigureAwait(false) is null)
        {
            Log.EventDropped(logger, eventName, instanceId);
        }
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

    public async Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var now = Now();
        var message = new HistoryEvent(HistoryEventType.ExecutionTerminated, now, -1, null, DurableTaskRegistry.Serialize(options?.Output));
        await store.EnqueueToLiveInstanceAsync(instanceId, message, visibleAtStart: false, now, engine.Enqueued).ConfigureAwait(false);
    }

    public async Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var purged = await store.PurgeAsync(instanceId).ConfigureAwait(false);
        engine.Purged(instanceId);
        return new PurgeResult(purged);
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
            var woken = await Task.WhenAny(finished, Task.Delay(pollInterval, poll.Token)).ConfigureAwait(false);
            await poll.CancelAsync().ConfigureAwait(false);
            cancellation.ThrowIfCancellationRequested();
            if (woken == finished)
            {
                // The step that finished it says how: no need to read it back.
                return ToMetadata(await finished.ConfigureAwait(false), getInputsAndOutputs);
            }
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
