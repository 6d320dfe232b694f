using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Http;
using AccessWorkflows.Slack;
using AccessWorkflows.Slack.Http;
using AccessWorkflows.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Functions.Functions;

/// <summary>
/// Every route of SPEC 8 the shared code serves, as HTTP functions (route prefix <c>api</c> from host.json). Each one
/// hands the request to the same handler the server maps, inside <see cref="DurableClientScope"/> so the shared code
/// reaches this invocation's durable client. All are <see cref="AuthorizationLevel.Anonymous"/>: a function key would
/// be a second, weaker credential; every handler authenticates its caller itself (bearer token, Slack signature, Bot
/// Framework token, webhook signature) before reading anything.
/// </summary>
/// <remarks>The channel routes answer 404 when their channel is not configured, as in the server. Slack's handlers
/// acknowledge within 3 seconds and finish in the background; on Flex Consumption that background work runs while the
/// instance lives, and the at-least-once workflow covers a lost continuation.</remarks>
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

    [Function("ExtendRequest")]
    public static Task<IResult> ExtendRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests/{id}/extend")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.ExtendAsync(request.HttpContext, id));

    [Function("CancelRequest")]
    public static Task<IResult> CancelRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests/{id}/cancel")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.CancelAsync(request.HttpContext, id));

    [Function("ReviewRequest")]
    public static Task<IResult> ReviewRequest(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "requests/{id}/review")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.ReviewAsync(request.HttpContext, id));

    [Function("RequestAudit")]
    public static Task<IResult> RequestAudit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "requests/{id}/audit")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccessRequestHandlers.AuditAsync(request.HttpContext, id));

    [Function("RequestActivity")]
    public static Task<IResult> RequestActivity(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "requests/{id}/activity")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => ActivityHandlers.ActivityAsync(request.HttpContext, id));

    [Function("AuditExport")]
    public static Task<IResult> AuditExport(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "audit")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AuditExportHandlers.ExportAsync(request.HttpContext));

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
        Run(client, () => AccountHandlers.ReconcileAsync(request.HttpContext, accountId));

    [Function("AccountAudit")]
    public static Task<IResult> AccountAudit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "accounts/{accountId}/audit")] HttpRequest request,
        string accountId,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => AccountHandlers.AuditAsync(request.HttpContext, accountId));

    [Function("SlackCommands")]
    public static Task<IResult> SlackCommands(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "slack/commands")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => Slack(request)?.CommandAsync(request.HttpContext) ?? NotConfigured("Slack"));

    [Function("SlackInteractions")]
    public static Task<IResult> SlackInteractions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "slack/interactions")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => Slack(request)?.InteractionAsync(request.HttpContext) ?? NotConfigured("Slack"));

    [Function("SlackOptions")]
    public static Task<IResult> SlackOptions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "slack/options")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => Slack(request)?.OptionsAsync(request.HttpContext) ?? NotConfigured("Slack"));

    [Function("TeamsMessages")]
    public static Task<IResult> TeamsMessages(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "teams/messages")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => Channel(request, "/api/teams/messages", "Teams"));

    [Function("WebhookDecisions")]
    public static Task<IResult> WebhookDecisions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhook/decisions")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Run(client, () => Channel(request, "/api/webhook/decisions", "Webhook decisions"));

    /// <summary>The integration's own endpoint writes the response; the function returns nothing more.</summary>
    private static async Task<IResult> Channel(HttpRequest request, string route, string what) =>
        await request.HttpContext.RequestServices.GetRequiredService<ChannelRoutes>().TryInvokeAsync(route, request.HttpContext)
            ? Results.Empty
            : await NotConfigured(what);

    private static SlackHandlers? Slack(HttpRequest request) =>
        request.HttpContext.RequestServices.GetService<SlackOptions>() is { IsEnabled: true }
            ? request.HttpContext.RequestServices.GetRequiredService<SlackHandlers>()
            : null;

    private static Task<IResult> NotConfigured(string what) =>
        Task.FromResult(Problems.NotFound($"{what} is not configured in this deployment."));

    private static async Task<IResult> Run(DurableTaskClient client, Func<Task<IResult>> handler)
    {
        using (DurableClientScope.Enter(client))
        {
            return await handler();
        }
    }
}
