using AccessWorkflows.Durable;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Server.Hosting;

/// <summary>
/// At start-up, starts the workflow of any request that was recorded but whose orchestration never started (the
/// process died between the two). Without it such a request would stay pending forever.
/// </summary>
internal sealed partial class RequestRecoveryService(IRequestStore requests, IDurableClient durable, RequestService service, ILogger<RequestRecoveryService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await requests.QueryAsync(new RequestQuery(RequestStatus.Pending, PageSize: 200, ContinuationToken: token), cancellationToken);
            foreach (var request in page.Items)
            {
                if (await durable.GetInstanceAsync(request.Id, cancellation: cancellationToken) is null)
                {
                    LogRecovered(logger, request.Id);
                    await service.StartWorkflowAsync(request, cancellationToken);
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Request {RequestId} was recorded but its workflow never started; starting it now")]
    private static partial void LogRecovered(ILogger logger, string requestId);
}
