using AccessWorkflows.Durable;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Http;

/// <summary>Health and the sandbox account's read-only view (SPEC 8, 9).</summary>
public static class OperationsHandlers
{
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/health", (Func<HttpContext, Task<IResult>>)HealthAsync);
        endpoints.MapGet("/api/sandbox/accounts/{accountId}/users/{userName}", (Func<HttpContext, string, string, Task<IResult>>)SandboxUserAsync);
        return endpoints;
    }

    /// <summary><c>GET /api/health</c>: 200 when the store and the durable engine answer, 503 otherwise.</summary>
    public static async Task<IResult> HealthAsync(HttpContext http)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await http.RequestServices.GetRequiredService<IRequestStore>().QueryAsync(new RequestQuery(PageSize: 1), timeout.Token);
            await http.RequestServices.GetRequiredService<IDurableClient>().GetInstanceAsync("health-probe", cancellation: timeout.Token);
            return Results.Ok(new { status = "healthy" });
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            return Results.Problem("The store or the durable engine did not answer.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unhealthy.");
        }
    }

    /// <summary><c>GET /api/sandbox/accounts/{accountId}/users/{userName}</c> (admins) →
    /// <c>{ attachedPolicies: [...], groups: [...] }</c>.</summary>
    public static async Task<IResult> SandboxUserAsync(HttpContext http, string accountId, string userName)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (!rules.IsAdmin(caller.Email))
        {
            return Problems.Forbidden("Only admins can read the sandbox accounts.");
        }

        if (!Grammar.IsAccountId(accountId) || rules.FindAccount(accountId) is not { IsSandbox: true })
        {
            return Problems.NotFound($"{accountId} is not a sandbox account.");
        }

        var user = await http.RequestServices.GetRequiredService<ISandboxIamStore>().GetUserAsync(accountId, userName.ToLowerInvariant(), http.RequestAborted)
            ?? SandboxUser.Empty(accountId, userName);
        return Results.Ok(new { attachedPolicies = user.AttachedPolicies, groups = user.Groups });
    }
}
