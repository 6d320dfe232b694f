using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>What one step decided: the history to append, the new work, and the instance's state.</summary>
internal sealed record OrchestrationStepResult(
    OrchestrationRuntimeStatus Status,
    List<HistoryEvent> NewHistory,
    List<ActivityWorkItem> NewActivities,
    List<(int TimerId, DateTime FireAt)> NewTimers,
    string? Output,
    TaskFailureDetails? Failure,
    string? CustomStatus,
    NonDeterministicOrchestrationException? NonDeterminism)
{
    /// <summary>Set when the orchestrator called ContinueAsNew and returned: the engine starts the new execution.</summary>
    public ContinuedAsNew? ContinuedAsNew { get; init; }
}

/// <summary>The new execution's input, and the events the old one received but never awaited (oldest first).</summary>
internal sealed record ContinuedAsNew(string? Input, List<HistoryEvent> CarriedEvents);

/// <summary>
/// Runs one step of one instance: re-runs the orchestrator over its past history (replay), then applies the new
/// events, and collects what the code asked for that the history does not have yet. Every call of the
/// orchestrator gets a sequence number; the history's TaskScheduled/TimerCreated events are checked against the
/// calls with the same number, which is how changed or non-deterministic code is detected.
/// A runner serves one step on one thread at a time. The engine may keep it for the instance's next step
/// (<see cref="Continue"/>): the orchestrator's code then carries on where it awaits, with no replay, as Durable
/// Functions' extended sessions do. Without it, the next step replays the history on a new runner.
/// </summary>
internal sealed class OrchestrationRunner : IOrchestrationContext
{
    private readonly Func<IOrchestrationContext, Task<string?>>? _body;
    private readonly OrchestrationSynchronizationContext _context = new();
    private IReadOnlyList<HistoryEvent> _past;
    private IReadOnlyList<HistoryEvent> _new;
    private readonly ILoggerFactory _loggerFactory;

    // Calls the history recorded, by sequence number, not yet matched by the code in this replay.
    private readonly Dictionary<int, HistoryEvent> _recordedCalls = [];
    private readonly Dictionary<int, OpenTask> _open = [];
    private List<HistoryEvent> _callEvents = [];
    private List<ActivityWorkItem> _newActivities = [];
    private List<(int, DateTime)> _newTimers = [];
    private readonly Dictionary<string, LinkedList<Action<string?>>> _waiters = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Queue<BufferedEvent>> _buffered = new(StringComparer.OrdinalIgnoreCase);

    private int _sequence;
    private int _guidCounter;
    private DateTime _currentUtc;
    private bool _isReplaying = true;
    private string? _input;
    private string? _customStatus;
    private Task<string?>? _orchestration;
    private NonDeterministicOrchestrationException? _nonDeterminism;
    private int _arrivals;
    private (string? Input, bool PreserveUnprocessedEvents)? _continueAsNew;

    public OrchestrationRunner(
        TaskName name,
        string instanceId,
        Func<IOrchestrationContext, Task<string?>>? body,
        IReadOnlyList<HistoryEvent> past,
        IReadOnlyList<HistoryEvent> newEvents,
        string? customStatus,
        ILoggerFactory loggerFactory)
    {
        Name = name;
        InstanceId = instanceId;
        _body = body;
        _past = past;
        _new = newEvents;
        _customStatus = customStatus;
        _loggerFactory = loggerFactory;
        foreach (var e in past)
        {
            if (e.Type is HistoryEventType.TaskScheduled or HistoryEventType.TimerCreated)
            {
                _recordedCalls[e.TaskId] = e;
            }
        }
    }

    private sealed record OpenTask(HistoryEventType Kind, TaskName Name, TaskCompletionSource<string?> Completion);

    private sealed record BufferedEvent(int Arrival, string Name, string? Data);

    public TaskName Name { get; }

    public string InstanceId { get; }

    public DateTime CurrentUtcDateTime => _currentUtc;

    public bool IsReplaying => _isReplaying;

    /// <summary>At most this many executions follow one another within one step; an orchestrator that continues as
    /// new without ever awaiting anything would otherwise loop forever.</summary>
    internal const int MaxExecutionsPerStep = 10_000;

    /// <summary>Runs one step of an instance: on <paramref name="session"/>, the runner of its previous step, when the
    /// caller kept it, else by replaying <paramref name="past"/> on a new runner. When the orchestrator continues as
    /// new, the new execution starts within the same step (a fresh history: OrchestratorStarted, ExecutionStarted,
    /// then the carried events), so the step commits only the last execution's history, with <c>Restarted</c> set and
    /// <c>Input</c> its input. <c>Runner</c> is the runner of the last execution, to keep for the next step.</summary>
    internal static (OrchestrationStepResult Result, bool Restarted, string? Input, OrchestrationRunner Runner) RunStep(
        OrchestrationRunner? session,
        TaskName name,
        string instanceId,
        Func<IOrchestrationContext, Task<string?>>? body,
        IReadOnlyList<HistoryEvent> past,
        IReadOnlyList<HistoryEvent> newEvents,
        string? customStatus,
        DateTime now,
        ILoggerFactory loggerFactory)
    {
        var runner = session ?? new OrchestrationRunner(name, instanceId, body, past, newEvents, customStatus, loggerFactory);
        var result = session is null ? runner.Run() : session.Continue(newEvents);
        string? input = null;
        var restarted = false;
        for (var executions = 1; result.ContinuedAsNew is { } next; executions++)
        {
            input = next.Input;
            restarted = true;
            if (executions == MaxExecutionsPerStep)
            {
                var failure = new TaskFailureDetails(
                    typeof(InvalidOperationException).FullName!,
                    $"The orchestrator continued as new {MaxExecutionsPerStep} times in one step without awaiting anything.");
                result = new(OrchestrationRuntimeStatus.Failed, [new HistoryEvent(HistoryEventType.ExecutionFailed, now, Data: Json(failure))], [], [], null, failure, result.CustomStatus, null);
                break;
            }

            List<HistoryEvent> started = [new(HistoryEventType.OrchestratorStarted, now), new(HistoryEventType.ExecutionStarted, now, -1, name.Name, input), .. next.CarriedEvents];
            runner = new OrchestrationRunner(name, instanceId, body, [], started, result.CustomStatus, loggerFactory);
            result = runner.Run();
        }

        return (result, restarted, input, runner);
    }

    /// <summary>The next step of a runner whose previous step was committed: only the new events are applied.</summary>
    public OrchestrationStepResult Continue(IReadOnlyList<HistoryEvent> newEvents)
    {
        _past = [];
        _new = newEvents;
        _callEvents = [];
        _newActivities = [];
        _newTimers = [];
        return Run();
    }

    public OrchestrationStepResult Run()
    {
        var applied = new List<HistoryEvent>();
        var unapplied = _new.Count;
        var previous = SynchronizationContext.Current;
        var context = _context;
        context.Open();
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            var total = _past.Count + _new.Count;
            for (var i = 0; i < total; i++)
            {
                var replaying = i < _past.Count;
                if (!replaying && _isReplaying)
                {
                    // The code has now re-run everything it ran before: every call in the history must have been made again.
                    _isReplaying = false;
                    CheckAllRecordedCallsReplayed();
                    if (_nonDeterminism is not null)
                    {
                        break;
                    }
                }

                var e = replaying ? _past[i] : _new[i - _past.Count];
                if (!replaying)
                {
                    applied.Add(e);
                    unapplied--;
                }

                Apply(e);
                context.Drain();
                if (_nonDeterminism is not null || _orchestration is { IsCompleted: true })
                {
                    break;
                }
            }

            if (_isReplaying && _orchestration is { IsCompleted: true })
            {
                CheckAllRecordedCallsReplayed();
            }
        }
        catch (Exception ex)
        {
            // Only user code can throw here (a continuation or cancellation callback): it fails the instance.
            _orchestration = Task.FromException<string?>(ex);
        }
        finally
        {
            context.Close();
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        return BuildResult(applied, unapplied);
    }

    private OrchestrationStepResult BuildResult(List<HistoryEvent> applied, int unapplied)
    {
        if (_nonDeterminism is not null)
        {
            var details = TaskFailureDetails.FromException(_nonDeterminism);
            applied.Add(new HistoryEvent(HistoryEventType.ExecutionFailed, _currentUtc, Data: Json(details)));
            return new(OrchestrationRuntimeStatus.Failed, applied, [], [], null, details, _customStatus, _nonDeterminism);
        }

        if (_orchestration is not { IsCompleted: true } done)
        {
            applied.AddRange(_callEvents);
            return new(OrchestrationRuntimeStatus.Running, applied, _newActivities, _newTimers, null, null, _customStatus, null);
        }

        if (done.IsCompletedSuccessfully && _continueAsNew is { } restart)
        {
            // Events this execution received but did not await: the buffered ones, then those of this step that came
            // after the orchestrator returned. Each keeps its place in arrival order.
            var carried = new List<HistoryEvent>();
            if (restart.PreserveUnprocessedEvents)
            {
                carried.AddRange(_buffered.Values
                    .SelectMany(queue => queue)
                    .OrderBy(b => b.Arrival)
                    .Select(b => new HistoryEvent(HistoryEventType.EventRaised, _currentUtc, -1, b.Name, b.Data)));
                carried.AddRange(_new.Skip(_new.Count - unapplied).Where(e => e.Type == HistoryEventType.EventRaised));
            }

            return new(OrchestrationRuntimeStatus.Running, applied, [], [], null, null, _customStatus, null)
            {
                ContinuedAsNew = new ContinuedAsNew(restart.Input, carried),
            };
        }

        if (done.IsCompletedSuccessfully)
        {
            applied.Add(new HistoryEvent(HistoryEventType.ExecutionCompleted, _currentUtc, Data: done.Result));
            return new(OrchestrationRuntimeStatus.Completed, applied, [], [], done.Result, null, _customStatus, null);
        }

        var failure = done.IsCanceled
            ? new TaskFailureDetails(typeof(TaskCanceledException).FullName!, "The orchestrator's task was cancelled.")
            : FailureOf(done.Exception!.InnerException ?? done.Exception);
        applied.Add(new HistoryEvent(HistoryEventType.ExecutionFailed, _currentUtc, Data: Json(failure)));
        return new(OrchestrationRuntimeStatus.Failed, applied, [], [], null, failure, _customStatus, null);
    }

    /// <summary>Failure details of an orchestrator's exception; a failed activity's details become the inner failure.</summary>
    internal static TaskFailureDetails FailureOf(Exception exception) => exception is TaskFailedException taskFailed
        ? new TaskFailureDetails(typeof(TaskFailedException).FullName!, taskFailed.Message, taskFailed.StackTrace, taskFailed.FailureDetails)
        : TaskFailureDetails.FromException(exception);

    internal static string Json(TaskFailureDetails details) => JsonSerializer.Serialize(details, DurableJson.Options);

    private void Apply(HistoryEvent e)
    {
        switch (e.Type)
        {
            case HistoryEventType.OrchestratorStarted:
                _currentUtc = e.Timestamp;
                break;
            case HistoryEventType.ExecutionStarted:
                _input = e.Data;
                if (_body is null)
                {
                    _orchestration = Task.FromException<string?>(new InvalidOperationException($"No orchestrator named '{Name}' is registered with this engine."));
                    break;
                }

                try
                {
                    _orchestration = _body(this);
                }
                catch (Exception ex)
                {
                    _orchestration = Task.FromException<string?>(ex);
                }

                break;
            case HistoryEventType.TaskCompleted:
                if (_open.Remove(e.TaskId, out var completed))
                {
                    completed.Completion.TrySetResult(e.Data);
                }

                break;
            case HistoryEventType.TaskFailed:
                if (_open.Remove(e.TaskId, out var failed))
                {
                    var details = JsonSerializer.Deserialize<TaskFailureDetails>(e.Data ?? "null", DurableJson.Options)
                        ?? new TaskFailureDetails("Unknown", "The activity failed without details.");
                    failed.Completion.TrySetException(new TaskFailedException(failed.Name, e.TaskId, details));
                }

                break;
            case HistoryEventType.TimerFired:
                // A cancelled timer still fires; its task is already cancelled, so this does nothing.
                if (_open.Remove(e.TaskId, out var timer))
                {
                    timer.Completion.TrySetResult(null);
                }

                break;
            case HistoryEventType.EventRaised:
                Deliver(e.Name ?? string.Empty, e.Data);
                break;
            default:
                // TaskScheduled and TimerCreated were checked when the code made the call.
                break;
        }
    }

    private void Deliver(string eventName, string? data)
    {
        var arrival = _arrivals++;
        if (_waiters.TryGetValue(eventName, out var waiters) && waiters.First is { } first)
        {
            waiters.RemoveFirst();
            first.Value(data);
            return;
        }

        if (!_buffered.TryGetValue(eventName, out var queue))
        {
            _buffered[eventName] = queue = new Queue<BufferedEvent>();
        }

        queue.Enqueue(new BufferedEvent(arrival, eventName, data));
    }

    private TaskCompletionSource<string?> Call(HistoryEventType kind, TaskName name, string? input, DateTime fireAt, int attempt)
    {
        var completion = new TaskCompletionSource<string?>();
        if (_nonDeterminism is not null)
        {
            return completion;
        }

        var id = _sequence++;
        if (_recordedCalls.Remove(id, out var recorded))
        {
            if (recorded.Type != kind || (kind == HistoryEventType.TaskScheduled && !name.Equals(new TaskName(recorded.Name ?? string.Empty))))
            {
                NonDeterministic($"at sequence #{id} the history recorded {Describe(recorded.Type, recorded.Name)} but the code now makes {Describe(kind, name.Name)}");
                return completion;
            }
        }
        else if (_isReplaying)
        {
            NonDeterministic($"while replaying, the code makes {Describe(kind, name.Name)} at sequence #{id}, which the history does not have");
            return completion;
        }
        else if (kind == HistoryEventType.TaskScheduled)
        {
            _callEvents.Add(new HistoryEvent(kind, _currentUtc, id, name.Name, input));
            _newActivities.Add(new ActivityWorkItem(0, InstanceId, 0, id, name.Name, input, attempt));
        }
        else
        {
            _callEvents.Add(new HistoryEvent(kind, _currentUtc, id, null, fireAt.Ticks.ToString(CultureInfo.InvariantCulture)));
            _newTimers.Add((id, fireAt));
        }

        _open[id] = new OpenTask(kind, name, completion);
        return completion;
    }

    private void CheckAllRecordedCallsReplayed()
    {
        if (_nonDeterminism is null && _recordedCalls.Count > 0)
        {
            var (id, recorded) = _recordedCalls.MinBy(kv => kv.Key);
            NonDeterministic($"the history recorded {Describe(recorded.Type, recorded.Name)} at sequence #{id} but the code no longer makes it");
        }
    }

    private void NonDeterministic(string what)
        => _nonDeterminism ??= new NonDeterministicOrchestrationException(
            $"Non-deterministic orchestration '{Name}' (instance '{InstanceId}'): {what}. The orchestrator code changed under a running instance or is not deterministic.");

    private static string Describe(HistoryEventType kind, string? name) => kind == HistoryEventType.TaskScheduled
        ? $"a call of activity '{name}'"
        : "a durable timer";

    // ---------------------------------------------------------------- IOrchestrationContext

    public T? GetInput<T>() => DurableTaskRegistry.Deserialize<T>(_input);

    public Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null)
        => ConvertAsync<TResult>(CallActivityCoreAsync(name, DurableTaskRegistry.Serialize(input), options?.Retry?.Policy));

    public Task CallActivityAsync(TaskName name, object? input = null, TaskOptions? options = null)
        => CallActivityCoreAsync(name, DurableTaskRegistry.Serialize(input), options?.Retry?.Policy);

    public Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var utc = fireAt.Kind == DateTimeKind.Local ? fireAt.ToUniversalTime() : DateTime.SpecifyKind(fireAt, DateTimeKind.Utc);
        var completion = Call(HistoryEventType.TimerCreated, default, null, utc, 0);
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        }

        return completion.Task;
    }

    public Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eventName);
        if (_buffered.TryGetValue(eventName, out var queue) && queue.TryDequeue(out var buffered))
        {
            return Task.FromResult(DurableTaskRegistry.Deserialize<T>(buffered.Data)!);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var completion = new TaskCompletionSource<T>();
        if (!_waiters.TryGetValue(eventName, out var waiters))
        {
            _waiters[eventName] = waiters = new LinkedList<Action<string?>>();
        }

        var node = waiters.AddLast(data =>
        {
            try
            {
                completion.TrySetResult(DurableTaskRegistry.Deserialize<T>(data)!);
            }
            catch (JsonException ex)
            {
                completion.TrySetException(ex);
            }
        });
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                if (node.List is not null)
                {
                    waiters.Remove(node);
                }

                completion.TrySetCanceled(cancellationToken);
            });
        }

        return completion.Task;
    }

    public void SetCustomStatus(object? customStatus) => _customStatus = DurableTaskRegistry.Serialize(customStatus);

    public void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true)
        => _continueAsNew = (DurableTaskRegistry.Serialize(newInput), preserveUnprocessedEvents);

    public Guid NewGuid() => DeterministicGuid.Create(string.Create(CultureInfo.InvariantCulture, $"{InstanceId}_{_currentUtc:o}_{_guidCounter++}"));

    public ILogger CreateReplaySafeLogger(string categoryName) => new ReplaySafeLogger(this, _loggerFactory.CreateLogger(categoryName));

    private static async Task<TResult> ConvertAsync<TResult>(Task<string?> call)
        => DurableTaskRegistry.Deserialize<TResult>(await call)!;

    /// <summary>An activity call with durable retries: each attempt is its own scheduled task, and the waits between
    /// attempts are durable timers, so a retry schedule survives restarts and replays identically.</summary>
    private async Task<string?> CallActivityCoreAsync(TaskName name, string? input, RetryPolicy? policy)
    {
        var firstAttemptAt = _currentUtc;
        for (var attempt = 1; ; attempt++)
        {
            TaskFailedException failure;
            try
            {
                return await Call(HistoryEventType.TaskScheduled, name, input, default, attempt).Task;
            }
            catch (TaskFailedException ex)
            {
                failure = ex;
            }

            if (policy is null
                || attempt >= policy.MaxNumberOfAttempts
                || (policy.HandleFailure is { } handle && !handle(failure.FailureDetails)))
            {
                ExceptionDispatchInfo.Throw(failure);
            }

            var delay = policy.DelayBeforeRetry(attempt);
            if (policy.RetryTimeout != Timeout.InfiniteTimeSpan && _currentUtc + delay - firstAttemptAt >= policy.RetryTimeout)
            {
                ExceptionDispatchInfo.Throw(failure);
            }

            await Call(HistoryEventType.TimerCreated, default, null, _currentUtc + delay, 0).Task;
        }
    }
}
