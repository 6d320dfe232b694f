using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>
/// An embedded durable task engine: orchestrations with Durable Task Framework replay semantics, persisted to one
/// SQLite file. Each orchestration step (replay + new events) appends its history together with the work it
/// created (activity rows, timer rows) in one transaction before anything acts on that work; activities run at
/// least once and report back with one transaction that swaps the work row for a result message.
/// <para>Two bounded worker pools run steps and activities. An instance is claimed in memory for the length of one
/// step, so it never runs on two threads at once, and holds no memory between steps. Claims are in memory only:
/// after a crash, a new engine on the same file re-claims everything, which is why one file must be served by at
/// most one live engine at a time.</para>
/// </summary>
public sealed class DurableEngine : IAsyncDisposable
{
    private const int Created = 0;
    private const int Running = 1;
    private const int Stopped = 2;
    private const int Killed = 3;

    private readonly DurableTaskRegistry _registry;
    private readonly DurableEngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SqliteStore _store;
    private readonly CompletionNotifier _completions = new();
    private readonly AsyncSignal _orchestrationSignal = new();
    private readonly AsyncSignal _activitySignal = new();
    private readonly SemaphoreSlim _orchestrationSlots;
    private readonly SemaphoreSlim _activitySlots;
    private readonly ConcurrentDictionary<string, byte> _claimedInstances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, byte> _claimedActivities = new();
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly ConcurrentDictionary<string, (long RetryAtMs, int Failures)> _failingInstances = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private Task _orchestrationLoop = Task.CompletedTask;
    private Task _activityLoop = Task.CompletedTask;
    private int _state;

    public DurableEngine(DurableTaskRegistry registry, DurableEngineOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.DatabasePath);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentOrchestrations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentActivities, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMessagesPerStep, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        _registry = registry;
        _options = options;
        _time = options.TimeProvider;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<DurableEngine>();
        _store = new SqliteStore(options.DatabasePath);
        _orchestrationSlots = new SemaphoreSlim(options.MaxConcurrentOrchestrations, options.MaxConcurrentOrchestrations);
        _activitySlots = new SemaphoreSlim(options.MaxConcurrentActivities, options.MaxConcurrentActivities);
        Client = new EmbeddedDurableClient(_store, _time, _completions, _orchestrationSignal.Set, options.PollInterval, _logger);
    }

    /// <summary>The client of this engine's database. Usable before <see cref="StartAsync"/>: it only writes rows.</summary>
    public IDurableClient Client { get; }

    /// <summary>Raised after each committed orchestration step, with the instance id (tests wait on it).</summary>
    internal event Action<string>? StepCommitted;

    /// <summary>Starts the dispatchers. Instances left by a previous process continue from their history: due
    /// timers fire, activities that were in flight run again.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Running, Created) != Created)
        {
            throw new InvalidOperationException("A durable engine starts once.");
        }

        Log.EngineStarted(_logger, _options.DatabasePath, _options.MaxConcurrentOrchestrations, _options.MaxConcurrentActivities);
        _orchestrationLoop = Task.Run(OrchestrationLoopAsync, CancellationToken.None);
        _activityLoop = Task.Run(ActivityLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Graceful stop: takes no new work and waits for running steps and activities to finish and record
    /// their results. When <paramref name="cancellationToken"/> fires first, running activities are cancelled
    /// (they will run again on the next start) and the stop returns.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Stopped, Running) != Running)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_orchestrationLoop, _activityLoop).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_inFlight.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.StopTimedOut(_logger);
            await _abort.CancelAsync().ConfigureAwait(false);
        }

        Log.EngineStopped(_logger);
    }

    /// <summary>
    /// Simulates the process dying now, for tests: every write of this engine (its client included) is fenced off
    /// before this returns, and everything running is cancelled and abandoned without waiting. Whatever a killed
    /// engine had not committed is as lost as on a real crash; a new engine on the same file carries on from the rows.
    /// </summary>
    public void Kill()
    {
        var previous = Interlocked.Exchange(ref _state, Killed);
        _store.Fence();
        _stopping.Cancel();
        _abort.Cancel();
        if (previous != Killed)
        {
            Log.EngineKilled(_logger);
        }
    }

    /// <summary>Stops gracefully (at most 30 s) and closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == Running)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await StopAsync(timeout.Token).ConfigureAwait(false);
        }

        _store.Dispose();
    }

    private DateTime UtcNow() => _time.GetUtcNow().UtcDateTime;

    private void Track(Task task)
    {
        _inFlight[task] = 0;
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // ---------------------------------------------------------------- orchestrations

    private async Task OrchestrationLoopAsync()
    {
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            var wake = _orchestrationSignal.WaitAsync();
            DateTime? nextDue = null;
            var more = false;
            try
            {
                var free = _orchestrationSlots.CurrentCount;
                if (free > 0)
                {
                    // Claimed and backing-off instances may be among the ready ones: asking for that many more
                    // still finds work for every free slot.
                    var limit = free + _claimedInstances.Count + _failingInstances.Count;
                    (var ready, nextDue) = _store.FindReadyInstances(UtcNow(), limit);
                    var started = 0;
                    foreach (var instanceId in ready)
                    {
                        if (stop.IsCancellationRequested || !_orchestrationSlots.Wait(0))
                        {
                            break;
                        }

                        if (IsBackingOff(instanceId) || !_claimedInstances.TryAdd(instanceId, 0))
                        {
                            _orchestrationSlots.Release();
                            continue;
                        }

                        started++;
                        Track(Task.Run(() => RunStep(instanceId), CancellationToken.None));
                    }

                    more = started > 0 && ready.Count == limit;
                }
            }
            catch (Exception ex)
            {
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                Log.DispatcherFailed(_logger, "orchestration", ex);
            }

            if (!more)
            {
                await WaitForWorkAsync(wake, nextDue, stop).ConfigureAwait(false);
            }
        }
    }

    private bool IsBackingOff(string instanceId)
        => _failingInstances.TryGetValue(instanceId, out var failing) && Environment.TickCount64 < failing.RetryAtMs;

    private async Task WaitForWorkAsync(Task wake, DateTime? nextDue, CancellationToken stop)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var poll = Task.Delay(_options.PollInterval, cancel.Token);
        Task timer = Task.Delay(Timeout.Infinite, cancel.Token);
        if (nextDue is { } due)
        {
            // The wait is on the engine's clock, so a test's manual clock fires timers when advanced. Long waits are
            // capped: nothing is lost by waking early and looking again.
            var delay = due - UtcNow();
            timer = delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay < TimeSpan.FromHours(1) ? delay : TimeSpan.FromHours(1), _time, cancel.Token);
        }

        await Task.WhenAny(wake, poll, timer).ConfigureAwait(false);
        await cancel.CancelAsync().ConfigureAwait(false);
    }

    private void RunStep(string instanceId)
    {
        try
        {
            RunStepCore(instanceId);
            _failingInstances.TryRemove(instanceId, out _);
        }
        catch (ObjectDisposedException) when (_store.IsFenced)
        {
            // Killed or disposed mid-step: the step is lost as it would be in a crash; its messages remain.
        }
        catch (Exception ex)
        {
            // Not the orchestrator's own failure (that fails the instance) but the engine's, e.g. the database: the
            // messages stay, and the instance is retried after a growing pause instead of in a hot loop.
            var failures = _failingInstances.TryGetValue(instanceId, out var previous) ? previous.Failures + 1 : 1;
            var pause = TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, failures - 1)));
            _failingInstances[instanceId] = (Environment.TickCount64 + (long)pause.TotalMilliseconds, failures);
            Log.StepFailed(_logger, instanceId, ex);
        }
        finally
        {
            _claimedInstances.TryRemove(instanceId, out _);
            _orchestrationSlots.Release();

            // Messages that arrived during the step are waiting; and a slot is free again.
            _orchestrationSignal.Set();
        }
    }

    private void RunStepCore(string instanceId)
    {
        var now = UtcNow();
        var (instance, messages, history) = _store.LoadStep(instanceId, now, _options.MaxMessagesPerStep);
        if (messages.Count == 0)
        {
            return;
        }

        var messageIds = messages.ConvertAll(m => m.Id);
        if (instance is null || instance.IsTerminal)
        {
            _store.DeleteMessages(messageIds);
            Log.MessagesDropped(_logger, instanceId, messageIds.Count);
            return;
        }

        OrchestrationStepResult result;
        var restarted = false;
        string? newInput = null;
        var started = new HistoryEvent(HistoryEventType.OrchestratorStarted, now);
        if (messages.Find(m => m.Event.Type == HistoryEventType.ExecutionTerminated) is { } terminate)
        {
            // Termination does not run orchestrator code: the instance ends where it is.
            result = new OrchestrationStepResult(
                OrchestrationRuntimeStatus.Terminated,
                [started, terminate.Event],
                [],
                [],
                terminate.Event.Data,
                null,
                instance.CustomStatus,
                null);
        }
        else
        {
            var newEvents = new List<HistoryEvent>(messages.Count + 1) { started };
            newEvents.AddRange(messages.Select(m => m.Event));
            (result, restarted, newInput) = OrchestrationRunner.RunStep(
                instance.Name,
                instanceId,
                _registry.FindOrchestrator(instance.Name),
                history,
                newEvents,
                instance.CustomStatus,
                now,
                _loggerFactory);
        }

        var committed = _store.CommitStep(new StepCommit(
            instanceId,
            instance.Generation,
            restarted ? 0 : history.Count,
            result.NewHistory,
            result.NewActivities,
            result.NewTimers,
            messageIds,
            result.Status,
            result.Output,
            result.Failure is null ? null : OrchestrationRunner.Json(result.Failure),
            result.CustomStatus,
            now)
        {
            Restart = restarted ? new ExecutionRestart(newInput) : null,
        });
        if (!committed)
        {
            Log.StepConflict(_logger, instanceId);
            return;
        }

        if (result.NewActivities.Count > 0)
        {
            _activitySignal.Set();
        }

        if (result.Status is not OrchestrationRuntimeStatus.Running)
        {
            if (result.NonDeterminism is { } nonDeterminism)
            {
                Log.NonDeterminism(_logger, instanceId, nonDeterminism.Message);
            }

            Log.InstanceFinished(_logger, instanceId, instance.Name, result.Status);
            _completions.Notify(instanceId);
        }

        StepCommitted?.Invoke(instanceId);
    }

    // ---------------------------------------------------------------- activities

    private async Task ActivityLoopAsync()
    {
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            var wake = _activitySignal.WaitAsync();
            var more = false;
            try
            {
                var free = _activitySlots.CurrentCount;
                if (free > 0)
                {
                    var limit = free + _claimedActivities.Count;
                    var items = _store.FindActivities(limit);
                    var started = 0;
                    foreach (var item in items)
                    {
                        if (stop.IsCancellationRequested || !_activitySlots.Wait(0))
                        {
                            break;
                        }

                        if (!_claimedActivities.TryAdd(item.Id, 0))
                        {
                            _activitySlots.Release();
                            continue;
                        }

                        started++;
                        Track(Task.Run(() => RunActivityAsync(item), CancellationToken.None));
                    }

                    more = started > 0 && items.Count == limit;
                }
            }
            catch (Exception ex)
            {
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                Log.DispatcherFailed(_logger, "activity", ex);
            }

            if (!more)
            {
                await WaitForWorkAsync(wake, null, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task RunActivityAsync(ActivityWorkItem item)
    {
        try
        {
            // The dispatcher's read may predate the commit of a run that just finished and released its claim:
            // only a work item still present is work.
            if (!_store.ActivityExists(item.Id))
            {
                return;
            }

            HistoryEvent outcome;
            var run = _registry.FindActivity(item.Name);
            if (run is null)
            {
                Log.ActivityNotRegistered(_logger, item.Name, item.InstanceId);
                outcome = Failed(new TaskFailureDetails(typeof(InvalidOperationException).FullName!, $"No activity named '{item.Name}' is registered with this engine."));
            }
            else
            {
                try
                {
                    var result = await run(new ActivityContext(item.Name, item.InstanceId, item.Attempt), item.Input, _abort.Token).ConfigureAwait(false);
                    outcome = new HistoryEvent(HistoryEventType.TaskCompleted, default, item.TaskId, item.Name, result);
                }
                catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                {
                    // Abandoned by a kill or a timed-out stop: the work row stays and runs again on the next start.
                    return;
                }
                catch (Exception ex)
                {
                    Log.ActivityFailed(_logger, item.Name, item.InstanceId, item.Attempt, ex);
                    outcome = Failed(TaskFailureDetails.FromException(ex));
                }
            }

            if (_store.CompleteActivity(item, outcome, UtcNow()))
            {
                _orchestrationSignal.Set();
            }
        }
        catch (ObjectDisposedException) when (_store.IsFenced)
        {
            // Killed: the result is lost as in a crash; the work row makes it run again.
        }
        catch (Exception ex)
        {
            Log.ActivityCompletionFailed(_logger, item.Name, item.InstanceId, ex);
        }
        finally
        {
            _claimedActivities.TryRemove(item.Id, out _);
            _activitySlots.Release();
            _activitySignal.Set();
        }

        HistoryEvent Failed(TaskFailureDetails details)
            => new(HistoryEventType.TaskFailed, default, item.TaskId, item.Name, OrchestrationRunner.Json(details));
    }
}
