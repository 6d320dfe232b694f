using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Hosting;

/// <summary>One piece of work a channel's route accepted, done after the caller got its answer.</summary>
/// <param name="Name">What it is, for logs (never contains secrets or user text).</param>
/// <param name="Work">Runs in its own DI scope.</param>
public sealed record WorkItem(string Name, Func<IServiceProvider, CancellationToken, Task> Work);

/// <summary>
/// The bounded queue between a channel's routes, which must answer the chat service at once (Slack within 3 seconds,
/// a Teams invoke before the user sees a spinner), and the slow work behind them (look-ups, commands and their durable
/// writes, outbound API calls). Full means the process is far behind: the route refuses rather than queue without
/// bound. Each channel derives its own queue, so a backlog in one never delays the other.
/// </summary>
/// <remarks>
/// Every answer of a channel enqueues here, so enqueueing takes no lock: a lock-free queue, a counter for the bound,
/// and a semaphore released only to wake a sleeping worker, at most once until a worker has taken that wake-up (a
/// woken worker that finds more wakes the next one). (A bounded <c>Channel</c> takes one lock per write and per
/// read; at 32 clicks in flight on 2 cores its lock convoyed, and waiting for it was three quarters of a Teams answer's
/// time on the CPU — the Teams benchmark of 2026-12-08 in docs/benchmarks/teams-ack.md.) Items are taken in the order
/// they were enqueued, but several workers run them, so they may finish in any order.
/// </remarks>
public abstract class WorkQueue
{
    private readonly ConcurrentQueue<WorkItem> _items = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _capacity;
    private int _count;
    private int _sleepers;
    private int _wakePending;

    protected WorkQueue(int capacity) => _capacity = Math.Max(1, capacity);

    /// <summary>Queues <paramref name="item"/>; false when the queue holds its capacity already (nothing queued).</summary>
    public bool TryEnqueue(WorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (Interlocked.Increment(ref _count) > _capacity)
        {
            Interlocked.Decrement(ref _count);
            return false;
        }

        _items.Enqueue(item);

        // Read after the enqueue (a full fence): a worker that announced its sleep before it is woken here, and one that
        // announces it afterwards sees the item when it looks again (TakeAsync). Under load no worker sleeps.
        WakeOne();
        return true;
    }

    /// <summary>Wakes one sleeping worker unless a wake-up is on its way already: the worker that takes it clears the
    /// flag before it looks at the queue, so it sees every item enqueued while the flag was set.</summary>
    private void WakeOne()
    {
        if (Volatile.Read(ref _sleepers) > 0 && Interlocked.CompareExchange(ref _wakePending, 1, 0) == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>The oldest item without waiting; false when the queue is empty.</summary>
    internal bool TryTake(out WorkItem item)
    {
        if (_items.TryDequeue(out item!))
        {
            Interlocked.Decrement(ref _count);
            return true;
        }

        return false;
    }

    /// <summary>The oldest item, waiting for one when the queue is empty.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    internal async ValueTask<WorkItem> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryTake(out var item))
            {
                if (!_items.IsEmpty)
                {
                    WakeOne(); // more waiting: another worker shares them
                }

                return item;
            }

            Interlocked.Increment(ref _sleepers);
            try
            {
                // Look again after announcing the sleep: an item enqueued before the announcement woke nobody. A wake-up
                // for an item another worker took finds the queue empty and sleeps again.
                if (_items.IsEmpty)
                {
                    await _wake.WaitAsync(cancellationToken);
                    Interlocked.Exchange(ref _wakePending, 0);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }
}

/// <summary>Runs the items of one <typeparamref name="TQueue"/> on a few workers. A failing item is logged and dropped;
/// it never stops the workers or the process.</summary>
/// <remarks>
/// A route answered the caller before its item ran (an approver was told the click is being recorded), so a clean stop
/// drains: the items running go on, and what is still queued runs, until the queue is empty or the host's shutdown
/// timeout passes; only then are items cancelled, and what was never started is logged by name (event 5202). Hosts stop
/// the durable engine after the other hosted services, so a drained decision still reaches its workflow.
/// </remarks>
public sealed class WorkQueueProcessor<TQueue> : BackgroundService
    where TQueue : WorkQueue
{
    // Several workers, so one slow call (a 429 being waited out) does not hold up work whose window is short, such as
    // a Slack views.open whose trigger_id expires in 3 seconds.
    private const int Workers = 4;
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(2);
    private readonly TQueue _queue;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<TQueue> _logger;

    /// <summary>Cancelled when the host's shutdown timeout passes: running and queued items are given up then.</summary>
    private readonly CancellationTokenSource _abandon = new();

    public WorkQueueProcessor(TQueue queue, IServiceScopeFactory scopes, ILogger<TQueue> logger)
    {
        _queue = queue;
        _scopes = scopes;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(_abandon.Cancel);
        await base.StopAsync(cancellationToken);

        // The workers drained the queue, unless the host stopped before ExecuteAsync ever ran (BackgroundService
        // starts it on the thread pool, and a stop that comes first cancels it unstarted): drain here then.
        await RunWorkerAsync(new CancellationToken(canceled: true));
        while (_queue.TryTake(out var left))
        {
            WorkQueueLog.Abandoned(_logger, left.Name);
        }
    }

    public override void Dispose()
    {
        _abandon.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => RunWorkerAsync(stoppingToken)));

    private async Task RunWorkerAsync(CancellationToken stoppingToken)
    {
        while (!_abandon.IsCancellationRequested)
        {
            WorkItem item;
            if (stoppingToken.IsCancellationRequested)
            {
                // Stopping: drain what is queued, without waiting for more.
                if (!_queue.TryTake(out item))
                {
                    return;
                }
            }
            else
            {
                try
                {
                    item = await _queue.TakeAsync(stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    continue;
                }
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abandon.Token);
            timeout.CancelAfter(ItemTimeout);
            try
            {
                await using var scope = _scopes.CreateAsyncScope();
                await item.Work(scope.ServiceProvider, timeout.Token);
            }
            catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
            {
                WorkQueueLog.Abandoned(_logger, item.Name);
                return;
            }
            catch (Exception e)
            {
                WorkQueueLog.Failed(_logger, item.Name, e);
            }
        }
    }
}

internal static partial class WorkQueueLog
{
    // 5201 is the id Slack's queue logged this with before the queue moved here; kept so alerts on it still fire.
    [LoggerMessage(EventId = 5201, Level = LogLevel.Error, Message = "Queued work item {Name} failed")]
    public static partial void Failed(ILogger logger, string name, Exception exception);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Error, Message = "Queued work item {Name} was given up: the host's shutdown timeout passed before it could run")]
    public static partial void Abandoned(ILogger logger, string name);
}
