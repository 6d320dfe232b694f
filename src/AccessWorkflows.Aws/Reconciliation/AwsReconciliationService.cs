using AccessWorkflows.Grants.Reconciliation;
using AccessWorkflows.Rules;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Aws.Reconciliation;

/// <summary>The periodic sweep of SPEC 6 over every account of the rules file — real AWS and sandboxes alike, with the
/// core's <see cref="GrantReconciler"/> — every
/// <c>AccessWorkflows:Aws:ReconcileInterval</c> (default one hour; zero turns it off). The first sweep runs one
/// interval after start, so a restart storm does not hammer IAM.</summary>
public sealed partial class AwsReconciliationService : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly AwsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AwsReconciliationService(IServiceProvider services, AwsOptions options, TimeProvider time, ILogger<AwsReconciliationService> logger)
    {
        _services = services;
        _options = options;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var rules = _services.GetService<AccessRules>();
        var accounts = rules?.Accounts.ToList() ?? [];
        if (_options.ReconcileInterval <= TimeSpan.Zero || accounts.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.ReconcileInterval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var account in accounts)
            {
                try
                {
                    await _services.GetRequiredService<GrantReconciler>().ReconcileAsync(account, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogSweepFailed(_logger, account.Id, ex);
                }
            }
        }
    }

    [LoggerMessage(EventId = 4133, Level = LogLevel.Error, Message = "The reconciliation sweep of account {AccountId} failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, string accountId, Exception exception);
}
