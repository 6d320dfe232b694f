using AccessWorkflows.Grants.Reconciliation;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Http;

/// <summary>Account-level routes (SPEC 8): the account's audit (reconciliation, drift, repair) and an on-demand sweep.</summary>
public static class AccountHandlers
{
    public static IEndpointRouteBuilder MapAccountApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/accounts/{accountId}/audit", (Func<HttpContext, string, Task<IResult>>)AuditAsync);
        endpoints.MapPost("/api/accounts/{accountId}/reconcile", (Func<HttpContext, string, Task<IResult>>)ReconcileAsync);
        return endpoints;
    }

    /// <summary><c>GET /api/accounts/{accountId}/audit</c> (admins, auditors): the account's audit events, oldest
    /// first — <c>account.removed</c>, <c>account.repair</c>, <c>account.drift</c>, <c>account.reconciled</c>.</summary>
    public static async Task<IResult> AuditAsync(HttpContext http, string accountId)
    {
        var (caller, refusal) = await AccessRequestHandlers.AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (!rules.IsAdmin(caller.Email) && !rules.IsAuditor(caller.Email))
        {
            return Problems.Forbidden("Only admins and auditors can read the audit log.");
        }

        if (!Grammar.IsAccountId(accountId) || rules.FindAccount(accountId) is null)
        {
            return Problems.NotFound($"{accountId} is not an account of the rules file.");
        }

        var events = await http.RequestServices.GetRequiredService<IAuditLog>().ListAsync(AccountAudit.Key(accountId), http.RequestAborted);
        return Results.Ok(new { accountId, items = events });
    }

    /// <summary><c>POST /api/accounts/{accountId}/reconcile</c> (admins): sweeps one account (AWS or sandbox) now and
    /// answers with the report; the run is audited as <c>account.reconciled</c> with the admin as actor.</summary>
    public static async Task<IResult> ReconcileAsync(HttpContext http, string accountId)
    {
        var (caller, refusal) = await AccessRequestHandlers.AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (!rules.IsAdmin(caller.Email))
        {
            return Problems.Forbidden("Only admins can reconcile an account.");
        }

        if (!Grammar.IsAccountId(accountId) || rules.FindAccount(accountId) is not { } account)
        {
            return Problems.NotFound($"{accountId} is not an account of the rules file.");
        }

        var report = await http.RequestServices.GetRequiredService<GrantReconciler>().ReconcileAsync(account, caller.Email, Channels.Api, http.RequestAborted);
        return Results.Ok(report);
    }
}
