using AccessWorkflows.Durable;
using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Sandbox;
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
        endpoints.MapGet("/api/options", (Func<HttpContext, Task<IResult>>)OptionsAsync);
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

    /// <summary><c>GET /api/options[?accountId=&amp;type=policy|group|resource&amp;query=]</c>: without an account, the
    /// accounts the caller may ask for; with one, the policies or groups some rule allows the caller there.</summary>
    public static async Task<IResult> OptionsAsync(HttpContext http)
    {
        var (caller, refusal) = await AccessRequestHandlers.AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        var options = http.RequestServices.GetRequiredService<AccessOptions>();
        var accountId = http.Request.Query["accountId"].ToString();
        if (accountId.Length == 0)
        {
            return Results.Ok(new { accounts = options.Accounts(caller.Email).Select(a => new { id = a.Id, name = a.Name }) });
        }

        if (!Grammar.IsAccountId(accountId))
        {
            return Problems.BadRequest("accountId must be a 12-digit AWS account id.");
        }

        var kind = http.Request.Query["type"].ToString() switch
        {
            "" or "policy" => AccessKind.Policy,
            "group" => AccessKind.Group,
            "resource" => AccessKind.Resource,
            "permissionSet" => AccessKind.PermissionSet,
            var other => (AccessKind?)null,
        };
        if (kind is null)
        {
            return Problems.BadRequest("type must be policy, group, resource or permissionSet.");
        }

        var query = http.Request.Query["query"].ToString();
        if (query.Length > 200)
        {
            return Problems.BadRequest("query must be at most 200 characters.");
        }

        var suggestions = await options.SuggestAsync(caller.Email, accountId, kind.Value, query, http.RequestAborted);
        return Results.Ok(new { options = suggestions });
    }

    /// <summary><c>GET /api/sandbox/accounts/{accountId}/users/{userName}</c> (admins) →
    /// <c>{ attachedPolicies: [...], groups: [...], permissionSets: [...] }</c> (permission sets assigned to the user in
    /// that account).</summary>
    public static async Task<IResult> SandboxUserAsync(HttpContext http, string accountId, string userName)
    {
        var (caller, refusal) = await AccessRequestHandlers.AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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
        return Results.Ok(new
        {
            attachedPolicies = user.AttachedPolicies.Where(p => !SandboxProvisioner.IsPermissionSet(p)),
            groups = user.Groups,
            permissionSets = user.AttachedPolicies.Where(SandboxProvisioner.IsPermissionSet),
        });
    }
}
