using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Reconciliation;

public static class AwsReconciliationEndpoints
{
    /// <summary>Maps <c>POST /api/accounts/{accountId}/reconcile</c> (admins): sweeps one real AWS account now and
    /// answers with the report.</summary>
    public static IEndpointRouteBuilder MapAws(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/accounts/{accountId}/reconcile", (Func<HttpContext, string, Task<IResult>>)ReconcileAsync);
        return endpoints;
    }

    public static async Task<IResult> ReconcileAsync(HttpContext http, string accountId)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (!rules.IsAdmin(caller.Email))
        {
            return Problems.Forbidden("Only admins can reconcile an account.");
        }

        if (!Grammar.IsAccountId(accountId) || rules.FindAccount(accountId) is not { IsSandbox: false } account)
        {
            return Problems.NotFound($"{accountId} is not a real AWS account of the rules file.");
        }

        var report = await http.RequestServices.GetRequiredService<AwsReconciler>().ReconcileAsync(account, http.RequestAborted);
        return Results.Ok(report);
    }
}
