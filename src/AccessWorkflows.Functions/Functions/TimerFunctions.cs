using AccessWorkflows.BreakGlass;
using AccessWorkflows.Durable;
using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Grants.Reconciliation;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Functions.Functions;

/// <summary>
/// The periodic work the server does with hosted services, as timer functions (an app on Flex Consumption may have no
/// instance running between requests, so a timer trigger is what wakes it): the reconciliation sweep of SPEC 6 over
/// every account (AWS and sandbox), and the start of requests recorded by an invocation that died before starting their
/// orchestration.
/// </summary>
public sealed partial class TimerFunctions
{
    private readonly AccessRules _rules;
    private readonly GrantReconciler _reconciler;
    private readonly IRequestStore _requests;
    private readonly RequestService _service;
    private readonly BreakGlassReminders _breakGlass;
    private readonly TimeProvider _time;
    private readonly ILogger<TimerFunctions> _logger;

    public TimerFunctions(AccessRules rules, GrantReconciler reconciler, IRequestStore requests, RequestService service, BreakGlassReminders breakGlass, TimeProvider time, ILogger<TimerFunctions> logger)
    {
        _breakGlass = breakGlass;
        _time = time;
        _rules = rules;
        _reconciler = reconciler;
        _requests = requests;
        _service = service;
        _logger = logger;
    }

    /// <summary>Hourly, at minute 7 (off the hour, when everything else runs).</summary>
    [Function("ReconcileAccounts")]
    public async Task ReconcileAccounts([TimerTrigger("0 7 * * * *")] TimerInfo timer, FunctionContext context)
    {
        foreach (var account in _rules.Accounts)
        {
            try
            {
                var report = await _reconciler.ReconcileAsync(account, context.CancellationToken);
                LogSwept(_logger, account.Id, report.Removed.Count, report.Repaired.Count, report.Drift.Count);
            }
            catch (Exception ex) when (!context.CancellationToken.IsCancellationRequested)
            {
                LogSweepFailed(_logger, account.Id, ex);
            }
        }
    }

    /// <summary>Every five minutes: pending requests older than two minutes with no orchestration get one (as the server
    /// does at start-up). Younger ones are left to the invocation that is recording them right now.</summary>
    [Function("StartRecordedRequests")]
    public async Task StartRecordedRequests([TimerTrigger("0 */5 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, FunctionContext context)
    {
        using var scope = DurableClientScope.Enter(client);
        var durable = DurableClientScope.Current!;
        string? token = null;
        do
        {
            var page = await _requests.QueryAsync(new RequestQuery(RequestStatus.Pending, PageSize: 200, ContinuationToken: token), context.CancellationToken);
            foreach (var request in page.Items.Where(r => r.CreatedAt < _time.GetUtcNow().AddMinutes(-2)))
            {
                if (await durable.GetInstanceAsync(request.Id, cancellation: context.CancellationToken) is null)
                {
                    LogRecovered(_logger, request.Id);
                    await _service.StartWorkflowAsync(request, context.CancellationToken);
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
    }

    /// <summary>Hourly, at minute 13: unreviewed break-glass requests are re-announced, each at most once per UTC day
    /// (the reminder's id carries the day), so the hourly runs after the first of the day send nothing.</summary>
    [Function("AnnounceUnreviewedBreakGlass")]
    public Task AnnounceUnreviewedBreakGlass([TimerTrigger("0 13 * * * *")] TimerInfo timer, FunctionContext context) =>
        _breakGlass.AnnounceUnreviewedAsync(context.CancellationToken);

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Reconciled account {AccountId}: {Removed} unexplained grants removed, {Repaired} repaired, {Drift} drift findings")]
    private static partial void LogSwept(ILogger logger, string accountId, int removed, int repaired, int drift);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Error, Message = "The reconciliation sweep of account {AccountId} failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, string accountId, Exception exception);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "Request {RequestId} was recorded but its workflow never started; starting it now")]
    private static partial void LogRecovered(ILogger logger, string requestId);
}
