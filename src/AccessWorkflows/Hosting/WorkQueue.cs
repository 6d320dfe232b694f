using System.Threading.Channels;
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
public abstract class WorkQueue
{
    private readonly Channel<WorkItem> _channel;

    protected WorkQueue(int capacity)
    {
        _channel = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    public bool TryEnqueue(WorkItem item) => _channel.Writer.TryWrite(item);

    internal ChannelReader<WorkItem> Reader => _channel.Reader;
}

/// <summary>Runs the items of one <typeparamref name="TQueue"/> on a few workers. A failing item is logged and dropped;
/// it never stops the workers or the process.</summary>
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

    public WorkQueueProcessor(TQueue queue, IServiceScopeFactory scopes, ILogger<TQueue> logger)
    {
        _queue = queue;
        _scopes = scopes;
        _logger = logger;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => RunWorkerAsync(stoppingToken)));

    private async Task RunWorkerAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(ItemTimeout);
                try
                {
                    await using var scope = _scopes.CreateAsyncScope();
                    await item.Work(scope.ServiceProvider, timeout.Token);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    WorkQueueLog.Failed(_logger, item.Name, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

internal static partial class WorkQueueLog
{
    // 5201 is the id Slack's queue logged this with before the queue moved here; kept so alerts on it still fire.
    [LoggerMessage(EventId = 5201, Level = LogLevel.Error, Message = "Queued work item {Name} failed")]
    public static partial void Failed(ILogger logger, string name, Exception exception);
}
