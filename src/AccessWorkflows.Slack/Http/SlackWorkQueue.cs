using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Slack.Http;

/// <summary>One piece of work an interaction asked for, done after Slack got its acknowledgement.</summary>
/// <param name="Name">What it is, for logs (never contains secrets or user text).</param>
/// <param name="Work">Runs in its own DI scope.</param>
public sealed record SlackWorkItem(string Name, Func<IServiceProvider, CancellationToken, Task> Work);

/// <summary>
/// The bounded queue between the routes (which must answer Slack within 3 seconds) and the work (user look-ups,
/// commands, Web API calls). Full means the process is far behind: the route refuses rather than queue without bound.
/// </summary>
public sealed class SlackWorkQueue
{
    private readonly Channel<SlackWorkItem> _channel;

    public SlackWorkQueue(SlackOptions options)
    {
        _channel = Channel.CreateBounded<SlackWorkItem>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    public bool TryEnqueue(SlackWorkItem item) => _channel.Writer.TryWrite(item);

    internal ChannelReader<SlackWorkItem> Reader => _channel.Reader;
}

/// <summary>Runs queued Slack work on a few workers. A failing item is logged and dropped; it never stops the
/// workers or the process.</summary>
public sealed partial class SlackWorkProcessor : BackgroundService
{
    // Several workers, so one slow Slack call (a 429 being waited out) does not hold up a views.open whose
    // trigger_id expires in 3 seconds.
    private const int Workers = 4;
    private static readonly TimeSpan ItemTimeout = TimeSpan.FromMinutes(2);
    private readonly SlackWorkQueue _queue;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<SlackWorkProcessor> _logger;

    public SlackWorkProcessor(SlackWorkQueue queue, IServiceScopeFactory scopes, ILogger<SlackWorkProcessor> logger)
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
                    LogFailed(_logger, item.Name, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 5201, Level = LogLevel.Error, Message = "Slack work item {Name} failed")]
    private static partial void LogFailed(ILogger logger, string name, Exception exception);
}
