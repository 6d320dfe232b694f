using AccessWorkflows.Aws.Reconciliation;
using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace AccessWorkflows.Functions.Functions;

/// <summary>
/// Every route of SPEC 8 the shared code serves, as HTTP functions (route prefix <c>api</c> from host.json). Each one
/// hands the request to the same handler the server maps, inside <see cref="DurableClientScope"/> so the shared code
/// reaches this invocation's durable client. All are <see cref="AuthorizationLevel.Anonymous"/>: a function key would
/// be a second, weaker credential; every handler authenticates its caller itself (bearer token, Slack signature, Bot
/// Framework token, webhook signature) before reading anything.
/// </summary>
/// <remarks>The Slack (<c>slack/commands|interactions|options</c>), Teams (<c>teams/messages</c>) and webhook
/// (<c>webhook/decisions</c>) routes are added here the same way, one function each, when their handlers land.</remarks>
public static class HttpFunctions
{
    [Function("CreateRequest")]
    public static Task<IResult> CreateRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.CreateAsync(request.HttpContext));

    [Function("ListRequests")]
    public static Task<IResult> ListRequests(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "requests")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.ListAsync(request.HttpContext));

    [Function("GetRequest")]
    public static Task<IResult> GetRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "requests/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.GetAsync(request.HttpContext, id));

    [Function("DecideRequest")]
    public static Task<IResult> DecideRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests/{id}/decision")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.DecideAsync(request.HttpContext, id));

    [Function("RelinquishRequest")]
    public static Task<IResult> RelinquishRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests/{id}/relinquish")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.RelinquishAsync(request.HttpContext, id));

    [Function("RevokeRequest")]
    public static Task<IResult> RevokeRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests/{id}/revoke")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.RevokeAsync(request.HttpContext, id));

    [Function("RequestAudit")]
    public static Task<IResult> RequestAudit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "requests/{id}/audit")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.AuditAsync(request.HttpContext, id));

    [Function("Health")]
    public static Task<IResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => OperationsHandlers.HealthAsync(request.HttpContext));

    [Function("AccessOptions")]
    public static Task<IResult> AccessOptions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "options")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => OperationsHandlers.OptionsAsync(request.HttpContext));

    [Function("SandboxUser")]
    public static Task<IResult> SandboxUser(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "sandbox/accounts/{accountId}/users/{userName}")] HttpRequest request,
        string accountId,
        string userName,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => OperationsHandlers.SandboxUserAsync(request.HttpContext, accountId, userName));

    [Function("ReconcileAccount")]
    public static Task<IResult> ReconcileAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "accounts/{accountId}/reconcile")] HttpRequest request,
        string accountId,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AwsReconciliationEndpoints.ReconcileAsync(request.HttpContext, accountId));

    private static async Task<IResult> Run(DurableTaskClient client, Func<Task<IResult>> handler)
    {
        using (DurableClientScope.Enter(client))
        {
            return await handler();
        }
    }
}
