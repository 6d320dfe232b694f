using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Durable;

/// <summary>
/// The orchestrator's view of its instance, one for one with Durable Functions' <c>TaskOrchestrationContext</c>.
/// Orchestrator code re-runs from the instance's history on every step, so it must be deterministic: take time
/// from <see cref="CurrentUtcDateTime"/>, ids from <see cref="NewGuid"/>, and do all I/O in activities.
/// </summary>
public interface IOrchestrationContext
{
    TaskName Name { get; }

    string InstanceId { get; }

    /// <summary>The replay-safe current time: the time the current step started, the same on every replay.</summary>
    DateTime CurrentUtcDateTime { get; }

    /// <summary>True while the code is re-running history it has already executed.</summary>
    bool IsReplaying { get; }

    T? GetInput<T>();

    /// <summary>Schedules an activity; with retry options, retries are durable timers between attempts.
    /// Throws <see cref="TaskFailedException"/> into the orchestrator when the last attempt fails.</summary>
    Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null);

    /// <summary>Schedules an activity whose result is not needed.</summary>
    Task CallActivityAsync(TaskName name, object? input = null, TaskOptions? options = null);

    /// <summary>A durable timer. Cancel it once it lost a race: a pending timer keeps the instance running.</summary>
    Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    /// <summary>Waits for an event raised through the client. Names are case-insensitive; an event that arrived
    /// before anyone waited is buffered and delivered to the first waiter, in arrival order.</summary>
    Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default);

    void SetCustomStatus(object? customStatus);

    /// <summary>Restarts the instance with <paramref name="newInput"/> and an empty history once the orchestrator
    /// returns (return right after calling this; its output and any task it did not await are dropped). This is how
    /// an orchestration that loops for long bounds its history. The instance id and custom status stay; the old
    /// execution's pending timers and activity results never reach the new one. With
    /// <paramref name="preserveUnprocessedEvents"/>, events received but not yet awaited are delivered to the new
    /// execution, in arrival order; without it they are dropped.</summary>
    void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true);

    /// <summary>A deterministic GUID: the same on every replay of this step.</summary>
    Guid NewGuid();

    /// <summary>A logger that writes nothing while <see cref="IsReplaying"/>.</summary>
    ILogger CreateReplaySafeLogger(string categoryName);
}

/// <summary>The virtual and non-virtual conveniences of <c>TaskOrchestrationContext</c>.</summary>
public static class OrchestrationContextExtensions
{
    public static Task CreateTimer(this IOrchestrationContext context, TimeSpan delay, CancellationToken cancellationToken)
        => context.CreateTimer(context.CurrentUtcDateTime.Add(delay), cancellationToken);

    public static ILogger CreateReplaySafeLogger<T>(this IOrchestrationContext context)
        => context.CreateReplaySafeLogger(typeof(T).FullName ?? typeof(T).Name);

    /// <summary>Waits for an event, throwing <see cref="TimeoutException"/> when <paramref name="timeout"/> wins.</summary>
    public static async Task<T> WaitForExternalEvent<T>(this IOrchestrationContext context, string eventName, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource();
        var timer = context.CreateTimer(context.CurrentUtcDateTime.Add(timeout), cts.Token);
        var evt = context.WaitForExternalEvent<T>(eventName, cts.Token);
        var winner = await Task.WhenAny(evt, timer);
        if (winner == evt)
        {
            cts.Cancel();
            return await evt;
        }

        throw new TimeoutException($"Event '{eventName}' was not raised within {timeout}.");
    }
}
