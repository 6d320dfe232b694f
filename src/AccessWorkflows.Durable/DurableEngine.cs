using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>
/// An embedded durable task engine: orchestrations with Durable Task Framework replay semantics, persisted to one
/// SQLite file. Each orchestration step (replay + new events) appends its history together with the work it
/// created (activity rows, timer rows) in one transaction before anything acts on that work; activities run at
/// least once and report back with one transaction that swaps the work row for a result message.
/// <para>The database is the record; memory is the schedule. Every write goes through the store's group commit, and
/// only once it is committed does the engine act on it: the committed step's activities join the activity queue, its
/// timers the timer schedule, a committed message its instance's inbox. So the dispatchers never look for work in the
/// database: they are handed it. A starting engine reads what is pending once (<see cref="StartAsync"/>), and holds
/// the earliest timers only, a page at a time, so a hundred thousand sleeping instances cost a page of memory.</para>
/// <para>Two bounded worker pools run steps and activities. An instance is claimed in memory from the start of a step
/// until its commit, so it never runs on two threads at once. Between steps an instance keeps its row and history in
/// a bounded cache (least recently used goes first), so a step reads the database only for an instance it has not
/// seen lately. Claims are in memory only: after a crash, a new engine on the same file re-reads everything, which
/// is why one file must be served by at most one live engine at a time.</para>
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
    private readonly AsyncSignal _timerSignal = new();
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Everything below is guarded by _gate. Callbacks of committed writes run on the store's writer thread, in commit
    // order, and take _gate only briefly; nothing holding _gate waits for the store.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InstanceState> _instances = new(StringComparer.Ordinal);
    private readonly Queue<InstanceState> _ready = new();
    private readonly Queue<ActivityWorkItem> _activities = new();
    private readonly PriorityQueue<InboxMessage, TimerKey> _timers = new();
    private readonly LinkedList<InstanceState> _cache = new();
    private TimerKey _timersHeldUntil = TimerKey.Max;
    private bool _timerPageLoading;
    private long _cacheBytes;
    private int _stepWorkers;
    private int _activityWorkers;
    private bool _live;

    private Task _timerLoop = Task.CompletedTask;
    private int _state;

    public DurableEngine(DurableTaskRegistry registry, DurableEngineOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.DatabasePath);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentOrchestrations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentActivities, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMessagesPerStep, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InstanceCacheBytes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TimerPageSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        _registry = registry;
        _options = options;
        _time = options.TimeProvider;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<DurableEngine>();
        _store = new SqliteStore(options.DatabasePath);
        Client = new EmbeddedDurableClient(_store, _time, _completions, new ClientCallbacks(this), options.PollInterval, _logger);
    }

    /// <summary>The client of this engine's database. Usable before <see cref="StartAsync"/>: it only writes rows, which
    /// the engine reads when it starts.</summary>
    public IDurableClient Client { get; }

    /// <summary>Raised after each committed orchestration step, with the instance id (tests wait on it). Runs on the
    /// store's writer thread: handlers must be quick.</summary>
    internal event Action<string>? StepCommitted;

    internal SqliteStore Store => _store;

    /// <summary>Instances whose row and history the cache holds (tests).</summary>
    internal int CachedInstances
    {
        get
        {
            lock (_gate)
            {
                return _cache.Count;
            }
        }
    }

    /// <summary>Starts the dispatchers. Instances left by a previous process continue from their history: due
    /// timers fire, activities that were in flight run again.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Running, Created) != Created)
        {
            throw new InvalidOperationException("A durable engine starts once.");
        }

        Log.EngineStarted(_logger, _options.DatabasePath, _options.MaxConcurrentOrchestrations, _options.MaxConcurrentActivities);
        await _store.RecoverAsync(_options.TimerPageSize, OnRecovered).WaitAsync(cancellationToken).ConfigureAwait(false);
        _timerLoop = Task.Run(TimerLoopAsync, CancellationToken.None);
    }

    /// <summary>Graceful stop: takes no new work and waits for running steps and activities to finish and record
    /// their results. When <paramref name="cancellationToken"/> fires first, running activities are cancelled
    /// (they will run again on the next start) and the stop returns.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Stopped, Running) != Running)
        {
            // A host may stop and dispose at once: whoever comes second waits for the stop under way.
            if (Volatile.Read(ref _state) == Stopped)
            {
                await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _timerLoop.ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_inFlight.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
            await _store.FlushAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.StopTimedOut(_logger);
            await _abort.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Killed meanwhile: nothing more is written anyway.
        }

        lock (_gate)
        {
            _live = false;
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
        lock (_gate)
        {
            _live = false;
        }

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
        if (Volatile.Read(ref _state) is Running or Stopped)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Another caller's stop outlasted ours: the store closes anyway, failing what is still queued.
            }
        }

        _store.Dispose();
    }

    private DateTime UtcNow() => _time.GetUtcNow().UtcDateTime;

    private void Track(Task task)
    {
        _inFlight[task] = 0;
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // ---------------------------------------------------------------- what the store committed (writer thread)

    private void OnRecovered(Recovered recovered)
    {
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _live = true;
            foreach (var activity in recovered.Activities)
            {
                State(activity.InstanceId).Activities.Add(activity.Id);
                _activities.Enqueue(activity);
            }

            foreach (var message in recovered.Messages)
            {
                Deliver(message);
            }

            OnTimerPageLocked(recovered.Timers);
            StartWorkers();
        }
    }

    private void OnTimerPageFailed(Exception error)
    {
        if (error is not ObjectDisposedException)
        {
            Log.DispatcherFailed(_logger, "timer", error);
        }

        lock (_gate)
        {
            _timerPageLoading = false;
        }
    }

    private void OnTimerPage(TimerPage page)
    {
        lock (_gate)
        {
            OnTimerPageLocked(page);
        }
    }

    private void OnTimerPageLocked(TimerPage page)
    {
        _timersHeldUntil = page.Until;
        _timerPageLoading = false;
        foreach (var timer in page.Timers)
        {
            Deliver(timer);
        }

        _timerSignal.Set();
    }

    /// <summary>A committed message reaches its instance: the inbox when visible now, the timer schedule when it fires
    /// later and falls within the timers held in memory, or nowhere (the row waits for its page).</summary>
    private void Deliver(InboxMessage message)
    {
        if (!_live)
        {
            return;
        }

        if (message.IsTimer && message.FireAt > UtcNow())
        {
            var key = new TimerKey(message.FireAt, message.Id);
            if (key <= _timersHeldUntil)
            {
                var earliest = !_timers.TryPeek(out _, out var first) || key < first;
                _timers.Enqueue(message, key);
                if (earliest)
                {
                    _timerSignal.Set();
                }

                if (_timers.Count > 2 * _options.TimerPageSize)
                {
                    TrimTimers();
                }
            }

            return;
        }

        var state = State(message.InstanceId);
        state.Inbox.Add(message);
        ScheduleStep(state);
    }

    /// <summary>Keeps the earliest page of held timers and lets the rest wait in the database for their page, so that
    /// a running engine's memory does not grow with the number of sleeping instances either.</summary>
    private void TrimTimers()
    {
        var held = _timers.UnorderedItems.OrderBy(t => t.Priority).Take(_options.TimerPageSize).ToList();
        _timers.Clear();
        _timers.EnqueueRange(held);
        _timersHeldUntil = held[^1].Priority;
    }

    private InstanceState State(string instanceId)
    {
        if (!_instances.TryGetValue(instanceId, out var state))
        {
            _instances[instanceId] = state = new InstanceState(instanceId);
        }

        return state;
    }

    private void OnCreated(InstanceRow row, InboxMessage started)
    {
        lock (_gate)
        {
            if (!_live)
            {
                return;
            }

            // A new instance, or a new execution of a finished one: whatever memory held of the old one is stale.
            var state = State(row.InstanceId);
            state.Inbox.Clear();
            state.Activities.Clear();
            Cache(state, row, [], null);
            Deliver(started);
        }
    }

    private void OnEnqueued(InboxMessage? message)
    {
        if (message is null)
        {
            return;
        }

        lock (_gate)
        {
            Deliver(message);
        }
    }

    private void OnPurged(string instanceId)
    {
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var state))
            {
                Uncache(state);
                Forget(state);
            }
        }
    }

    // ---------------------------------------------------------------- the instance cache

    /// <summary>Keeps an instance's row, history and live runner for its next step, within
    /// <see cref="DurableEngineOptions.InstanceCacheBytes"/>.</summary>
    private void Cache(InstanceState state, InstanceRow? row, List<HistoryEvent>? history, OrchestrationRunner? session)
    {
        Uncache(state);
        if (row is null || history is null)
        {
            return;
        }

        state.Row = row;
        state.History = history;
        state.Session = session;
        if (state.Claimed)
        {
            return;
        }

        state.CacheBytes = state.EstimateBytes(row, history, session is not null);
        state.CacheNode = _cache.AddLast(state);
        _cacheBytes += state.CacheBytes;
        while (_cacheBytes > _options.InstanceCacheBytes && _cache.First is { } oldest)
        {
            // The instance being cached is the caller's to forget once it has recorded its new work.
            Uncache(oldest.Value);
            if (oldest.Value != state)
            {
                Forget(oldest.Value);
            }
        }
    }

    private void Uncache(InstanceState state)
    {
        if (state.CacheNode is { } node)
        {
            _cache.Remove(node);
            _cacheBytes -= state.CacheBytes;
            state.CacheNode = null;
        }

        state.Row = null;
        state.History = null;
        state.Session = null;
    }

    /// <summary>Drops an instance from memory once nothing refers to it: not cached, no step, no message, no activity.</summary>
    private void Forget(InstanceState state)
    {
        if (state.CacheNode is null && !state.Claimed && !state.Queued && state.Inbox.Count == 0 && state.Activities.Count == 0
            && _instances.TryGetValue(state.Id, out var current) && current == state)
        {
            _instances.Remove(state.Id);
        }
    }

    // ---------------------------------------------------------------- orchestration steps

    private void ScheduleStep(InstanceState state)
    {
        if (state.Claimed || state.Queued || state.Inbox.Count == 0 || Environment.TickCount64 < state.RetryAtMs)
        {
            return;
        }

        state.Queued = true;
        _ready.Enqueue(state);
        StartWorkers();
    }

    private void StartWorkers()
    {
        if (!_live || _stopping.IsCancellationRequested)
        {
            return;
        }

        while (_stepWorkers < _options.MaxConcurrentOrchestrations && _ready.Count > _stepWorkers)
        {
            _stepWorkers++;
            Track(Task.Run(StepWorker, CancellationToken.None));
        }

        while (_activityWorkers < _options.MaxConcurrentActivities && _activities.Count > _activityWorkers)
        {
            _activityWorkers++;
            Track(Task.Run(ActivityWorkerAsync, CancellationToken.None));
        }
    }

    private void StepWorker()
    {
        while (true)
        {
            InstanceState state;
            List<InboxMessage> messages;
            InstanceRow? row;
            List<HistoryEvent>? history;
            OrchestrationRunner? session;
            lock (_gate)
            {
                if (_stopping.IsCancellationRequested || !_ready.TryDequeue(out state!))
                {
                    _stepWorkers--;
                    return;
                }

                state.Queued = false;
                if (state.Inbox.Count == 0)
                {
                    Forget(state);
                    continue;
                }

                // Claimed: out of the cache list until the step's commit, so eviction cannot take what the step uses.
                if (state.CacheNode is { } node)
                {
                    _cache.Remove(node);
                    _cacheBytes -= state.CacheBytes;
                    state.CacheNode = null;
                }

                state.Claimed = true;
                messages = state.Inbox.GetRange(0, Math.Min(state.Inbox.Count, _options.MaxMessagesPerStep));
                row = state.Row;
                history = state.History;
                session = state.Session;
            }

            RunStep(state, messages, row, history, session);
        }
    }

    private void RunStep(InstanceState state, List<InboxMessage> messages, InstanceRow? row, List<HistoryEvent>? history, OrchestrationRunner? session)
    {
        try
        {
            if (row is null || history is null)
            {
                (row, history) = _store.LoadInstance(state.Id);
            }

            var now = UtcNow();
            var live = row is { IsTerminal: false } ? messages.FindAll(m => m.Generation == row.Generation) : [];
            if (row is null || live.Count == 0)
            {
                // Nothing to run: the instance is gone or finished, or the messages were meant for an execution that
                // is over. Their rows went with it, or go now.
                var ids = messages.ConvertAll(m => m.Id);
                var cached = row;
                var cachedHistory = history;
                _store.DeleteMessages(ids, _ => OnStepDone(state, messages, cached, cachedHistory, session, null, null), error => OnStepFailed(state, error));
                Log.MessagesDropped(_logger, state.Id, ids.Count);
                return;
            }

            var (result, restarted, newInput, runner) = Run(state.Id, row, history, session, live, now);
            var step = new StepCommit(
                state.Id,
                row.Generation,
                restarted ? 0 : history.Count,
                result.NewHistory,
                result.NewActivities,
                result.NewTimers,
                messages.ConvertAll(m => m.Id),
                result.Status,
                result.Output,
                result.Failure is null ? null : OrchestrationRunner.Json(result.Failure),
                result.CustomStatus,
                now)
            {
                Restart = restarted ? new ExecutionRestart(newInput) : null,
            };
            _store.CommitStep(step, committed => OnStepDone(state, messages, row, history, runner, step, committed), error => OnStepFailed(state, error));
            if (result.NonDeterminism is { } nonDeterminism)
            {
                Log.NonDeterminism(_logger, state.Id, nonDeterminism.Message);
            }
        }
        catch (Exception ex)
        {
            OnStepFailed(state, ex);
        }
    }

    private (OrchestrationStepResult Result, bool Restarted, string? Input, OrchestrationRunner? Runner) Run(
        string instanceId,
        InstanceRow row,
        List<HistoryEvent> history,
        OrchestrationRunner? session,
        List<InboxMessage> messages,
        DateTime now)
    {
        var started = new HistoryEvent(HistoryEventType.OrchestratorStarted, now);
        if (messages.Find(m => m.Event.Type == HistoryEventType.ExecutionTerminated) is { } terminate)
        {
            // Termination does not run orchestrator code: the instance ends where it is.
            var terminated = terminate.Event with { Timestamp = now };
            return (new OrchestrationStepResult(OrchestrationRuntimeStatus.Terminated, [started, terminated], [], [], terminated.Data, null, row.CustomStatus, null), false, null, null);
        }

        var newEvents = new List<HistoryEvent>(messages.Count + 1) { started };
        foreach (var message in messages)
        {
            newEvents.Add(message.Event with { Timestamp = now });
        }

        return OrchestrationRunner.RunStep(session, row.Name, instanceId, _registry.FindOrchestrator(row.Name), history, newEvents, row.CustomStatus, now, _loggerFactory);
    }

    /// <summary>The step's writes are committed (writer thread): memory follows the store. <paramref name="committed"/>
    /// is null when the step lost to a re-creation of its instance, <paramref name="step"/> when it only dropped messages.</summary>
    private void OnStepDone(
        InstanceState state,
        List<InboxMessage> consumed,
        InstanceRow? row,
        List<HistoryEvent>? history,
        OrchestrationRunner? runner,
        StepCommit? step,
        StepCommitted? committed)
    {
        InstanceRow? finished = null;
        lock (_gate)
        {
            RemoveConsumed(state, consumed);
            state.Claimed = false;
            state.RetryAtMs = 0;
            if (step is null)
            {
                Cache(state, row, history, runner);
            }
            else if (committed is null)
            {
                Log.StepConflict(_logger, state.Id);
                Uncache(state);
            }
            else
            {
                var updated = row! with
                {
                    Status = step.Status,
                    Output = step.Output,
                    Failure = step.Failure,
                    CustomStatus = step.CustomStatus,
                    UpdatedAt = step.Now,
                    Generation = committed.Generation,
                    Input = step.Restart is { } restart ? restart.Input : row.Input,
                };
                if (step.IsTerminal)
                {
                    // Its store rows are gone: so is whatever memory held for it.
                    state.Inbox.Clear();
                    state.Activities.Clear();
                    Uncache(state);
                    finished = updated;
                }
                else
                {
                    if (step.Restart is not null)
                    {
                        history = [.. step.NewHistory];
                        OnRestarted(state, committed.Generation);
                    }
                    else
                    {
                        history!.AddRange(step.NewHistory);
                    }

                    if (IsGoingToSleep(state, step, committed))
                    {
                        // Nothing will wake it for a while but a timer: its row and history would only take the place
                        // of instances that step again soon. Its next step reads them back (and replays).
                        Uncache(state);
                    }
                    else
                    {
                        // The runner has applied exactly this history: it serves the next step without a replay.
                        Cache(state, updated, history, runner);
                    }

                    foreach (var activity in committed.Activities)
                    {
                        state.Activities.Add(activity.Id);
                        _activities.Enqueue(activity);
                    }

                    foreach (var timer in committed.Timers)
                    {
                        Deliver(timer);
                    }
                }
            }

            ScheduleStep(state);
            StartWorkers();
            Forget(state);
        }

        if (finished is not null)
        {
            Log.InstanceFinished(_logger, state.Id, finished.Name, finished.Status);
            _completions.Notify(finished);
        }

        if (step is not null && committed is not null)
        {
            StepCommitted?.Invoke(state.Id);
        }
    }

    /// <summary>Timers due at least this long after the step that made them send their instance to sleep: it leaves
    /// the instance cache (see <see cref="IsGoingToSleep"/>).</summary>
    private static readonly TimeSpan SleepAfter = TimeSpan.FromMinutes(1);

    /// <summary>The step left the instance waiting on a timer due after <see cref="SleepAfter"/> and on nothing of its own
    /// making that comes sooner: no activity in flight, no message waiting, no earlier timer of this step. An event may
    /// still come first (a request waiting for its approval with a timeout); its step then reads the instance back.</summary>
    private static bool IsGoingToSleep(InstanceState state, StepCommit step, StepCommitted committed)
        => committed.Timers.Count > 0 && committed.Activities.Count == 0 && state.Activities.Count == 0 && state.Inbox.Count == 0
            && committed.Timers.TrueForAll(timer => timer.FireAt - step.Now >= SleepAfter);

    /// <summary>The instance continued as new: events and a terminate waiting in its inbox carry over to the new
    /// execution (as their rows did); the old execution's activities and timer or activity results do not.</summary>
    private void OnRestarted(InstanceState state, long generation)
    {
        state.Activities.Clear();
        for (var i = state.Inbox.Count - 1; i >= 0; i--)
        {
            var message = state.Inbox[i];
            if (message.Event.Type is HistoryEventType.EventRaised or HistoryEventType.ExecutionTerminated)
            {
                state.Inbox[i] = message with { Generation = generation };
            }
            else
            {
                state.Inbox.RemoveAt(i);
            }
        }
    }

    private static void RemoveConsumed(InstanceState state, List<InboxMessage> consumed)
    {
        // The inbox only grows at its end while a step runs, unless a re-creation emptied it.
        if (state.Inbox.Count >= consumed.Count && consumed.Count > 0 && ReferenceEquals(state.Inbox[0], consumed[0]))
        {
            state.Inbox.RemoveRange(0, consumed.Count);
            return;
        }

        foreach (var message in consumed)
        {
            state.Inbox.Remove(message);
        }
    }

    private void OnStepFailed(InstanceState state, Exception error)
    {
        if (error is ObjectDisposedException && _store.IsFenced)
        {
            // Killed or disposed mid-step: the step is lost as it would be in a crash; its messages remain.
            return;
        }

        // Not the orchestrator's own failure (that fails the instance) but the engine's, e.g. the database: the
        // messages stay, and the instance is retried after a growing pause instead of in a hot loop.
        Log.StepFailed(_logger, state.Id, error);
        TimeSpan pause;
        lock (_gate)
        {
            state.Failures++;
            pause = TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, state.Failures - 1)));
            state.RetryAtMs = Environment.TickCount64 + (long)pause.TotalMilliseconds;
            state.Claimed = false;
            Uncache(state);
        }

        _ = Task.Delay(pause, _stopping.Token).ContinueWith(
            _ =>
            {
                lock (_gate)
                {
                    state.RetryAtMs = 0;
                    ScheduleStep(state);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
    }

    // ---------------------------------------------------------------- timers

    /// <summary>Moves every due timer to its instance's inbox at once (a burst of timers is one pass), then sleeps on
    /// the engine's clock until the earliest timer held, or until a commit holds an earlier one.</summary>
    private async Task TimerLoopAsync()
    {
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            var wake = _timerSignal.WaitAsync();
            DateTime? nextDue = null;
            TimerKey? loadAfter = null;
            lock (_gate)
            {
                var now = UtcNow();
                while (_timers.TryPeek(out var timer, out var key) && key.FireAt <= now)
                {
                    _timers.Dequeue();
                    var state = State(timer.InstanceId);
                    state.Inbox.Add(timer);
                    ScheduleStep(state);
                }

                if (_timers.TryPeek(out _, out var next))
                {
                    nextDue = next.FireAt;
                }
                else if (_timersHeldUntil != TimerKey.Max && !_timerPageLoading && _live)
                {
                    // Every held timer fired: the next page of rows comes in through the writer, in commit order.
                    _timerPageLoading = true;
                    loadAfter = _timersHeldUntil;
                }
            }

            if (loadAfter is { } after)
            {
                try
                {
                    _store.LoadTimers(after, _options.TimerPageSize, OnTimerPage, OnTimerPageFailed);
                }
                catch (ObjectDisposedException)
                {
                    break;
                }
            }

            await WaitForWorkAsync(wake, nextDue, stop).ConfigureAwait(false);
        }
    }

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

    // ---------------------------------------------------------------- activities

    private async Task ActivityWorkerAsync()
    {
        while (true)
        {
            ActivityWorkItem item;
            lock (_gate)
            {
                if (_stopping.IsCancellationRequested || !_activities.TryDequeue(out item!))
                {
                    _activityWorkers--;
                    return;
                }

                // An activity whose instance finished or moved to another execution meanwhile is no work any more.
                if (!_instances.TryGetValue(item.InstanceId, out var state) || !state.Activities.Contains(item.Id))
                {
                    continue;
                }
            }

            await RunActivityAsync(item).ConfigureAwait(false);
        }
    }

    private async Task RunActivityAsync(ActivityWorkItem item)
    {
        try
        {
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

            // Not awaited: the worker takes its next item while the group commit records this one.
            _store.CompleteActivity(item, outcome, UtcNow(), message => OnActivityCompleted(item, message), error =>
            {
                if (error is not ObjectDisposedException)
                {
                    // Its work row is still there: it runs again (at least once is the promise), after a pause, so
                    // a database that keeps refusing does not turn into a loop of side effects.
                    Log.ActivityCompletionFailed(_logger, item.Name, item.InstanceId, error);
                    _ = Task.Delay(_options.PollInterval, _stopping.Token).ContinueWith(
                        _ =>
                        {
                            lock (_gate)
                            {
                                _activities.Enqueue(item);
                                StartWorkers();
                            }
                        },
                        CancellationToken.None,
                        TaskContinuationOptions.OnlyOnRanToCompletion,
                        TaskScheduler.Default);
                }
            });
        }
        catch (ObjectDisposedException) when (_store.IsFenced)
        {
            // Killed: the result is lost as in a crash; the work row makes it run again.
        }
        catch (Exception ex)
        {
            Log.ActivityCompletionFailed(_logger, item.Name, item.InstanceId, ex);
        }

        HistoryEvent Failed(TaskFailureDetails details)
            => new(HistoryEventType.TaskFailed, default, item.TaskId, item.Name, OrchestrationRunner.Json(details));
    }

    private void OnActivityCompleted(ActivityWorkItem item, InboxMessage? result)
    {
        lock (_gate)
        {
            if (_instances.TryGetValue(item.InstanceId, out var state))
            {
                state.Activities.Remove(item.Id);
                Forget(state);
            }

            if (result is not null)
            {
                Deliver(result);
            }
        }
    }

    /// <summary>What memory holds of one instance between and during its steps.</summary>
    private sealed class InstanceState(string id)
    {
        // What EstimateBytes counted last: which history list, how many of its events, and their bytes.
        private List<HistoryEvent>? _countedHistory;
        private int _countedEvents;
        private long _historyBytes;

        public string Id { get; } = id;

        /// <summary>Committed messages not yet consumed by a step, in arrival order.</summary>
        public List<InboxMessage> Inbox { get; } = [];

        /// <summary>Ids of the committed activity work items of the current execution not yet completed.</summary>
        public HashSet<long> Activities { get; } = [];

        /// <summary>The cached row and history (both or neither); null: the next step reads them.</summary>
        public InstanceRow? Row { get; set; }

        public List<HistoryEvent>? History { get; set; }

        /// <summary>The runner that applied <see cref="History"/>, still awaiting where the orchestrator awaits.</summary>
        public OrchestrationRunner? Session { get; set; }

        public LinkedListNode<InstanceState>? CacheNode { get; set; }

        public long CacheBytes { get; set; }

        /// <summary>A step of this instance runs or awaits its commit.</summary>
        public bool Claimed { get; set; }

        /// <summary>In the ready queue.</summary>
        public bool Queued { get; set; }

        public int Failures { get; set; }

        public long RetryAtMs { get; set; }

        /// <summary>A rough size: strings at two bytes a char, objects at a few dozen; a live runner (the orchestrator's
        /// state machine and the runner's maps) counted as a couple of kilobytes plus its history's size again. Only the
        /// events appended since the last estimate are counted: a history only grows at its end between steps (a new
        /// list replaces it otherwise), and recounting all of it at every step made a long-lived instance's steps cost
        /// its whole history each.</summary>
        public long EstimateBytes(InstanceRow row, List<HistoryEvent> history, bool withSession)
        {
            if (!ReferenceEquals(history, _countedHistory) || history.Count < _countedEvents)
            {
                _countedHistory = history;
                _countedEvents = 0;
                _historyBytes = 0;
            }

            for (; _countedEvents < history.Count; _countedEvents++)
            {
                var e = history[_countedEvents];
                _historyBytes += 64 + (2 * ((e.Name?.Length ?? 0) + (e.Data?.Length ?? 0)));
            }

            long bytes = 256 + (2 * ((row.Input?.Length ?? 0) + (row.CustomStatus?.Length ?? 0))) + _historyBytes;
            return withSession ? (2 * bytes) + 2048 : bytes;
        }
    }

    /// <summary>How the client tells the engine what it committed.</summary>
    internal sealed class ClientCallbacks(DurableEngine engine)
    {
        public void Created(InstanceRow row, InboxMessage started) => engine.OnCreated(row, started);

        public void Enqueued(InboxMessage? message) => engine.OnEnqueued(message);

        public void Purged(string instanceId) => engine.OnPurged(instanceId);
    }
}
