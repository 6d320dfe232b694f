using AccessWorkflows.BreakGlass;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Server.BreakGlass;

/// <summary>Runs <see cref="BreakGlassReminders"/> every <c>AccessWorkflows:BreakGlass:ReminderInterval</c> (default one
/// hour; zero turns it off), like the reconciliation sweep: the first run one interval after start. Each request is
/// announced at most once per UTC day whatever the interval.</summary>
internal sealed partial class BreakGlassReminderService : BackgroundService
{
    private readonly BreakGlassReminders _reminders;
    private readonly BreakGlassOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public BreakGlassReminderService(BreakGlassReminders reminders, IOptions<BreakGlassOptions> options, TimeProvider time, ILogger<BreakGlassReminderService> logger)
    {
        _reminders = reminders;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.ReminderInterval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.ReminderInterval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await _reminders.AnnounceUnreviewedAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogRunFailed(_logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Error, Message = "The break-glass reminder run failed; it runs again at the next interval")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}
