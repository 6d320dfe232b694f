using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Server.Page;

/// <summary>
/// What the page at <c>/</c> needs beyond the API of SPEC 8: who the caller is to the rules, what waits for their
/// decision (from each request's frozen approval plan, so the page offers Approve/Deny exactly where the server would
/// accept them) and which rule a request would fall under before it is sent. They sit outside <c>/api</c> because they
/// serve this page only (the Functions host serves no page). Every answer is computed for the authenticated caller.
/// </summary>
internal static class PageEndpoints
{
    private const int InboxScan = 200;

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/console/config", Config);
        endpoints.MapGet("/console/me", (Func<HttpContext, Task<IResult>>)MeAsync);
        endpoints.MapGet("/console/inbox", (Func<HttpContext, Task<IResult>>)InboxAsync);
        endpoints.MapGet("/console/rule", (Func<HttpContext, Task<IResult>>)RuleAsync);
        return endpoints;
    }

    /// <summary>
    /// <c>{ mode: "Development" }</c> or <c>{ mode: "Jwt", authority, clientId, scopes }</c>: how the page signs people
    /// in. Anonymous, as the page needs it before anyone is signed in; it holds nothing secret (a public client's id
    /// and the authority are in every authorization request the browser makes anyway). <c>clientId</c> is null when
    /// <c>AccessWorkflows:Auth:ClientId</c> is not set, and the page then says that it cannot sign anyone in.
    /// </summary>
    private static IResult Config(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        if (http.RequestServices.GetRequiredService<ICallerAuthenticator>() is DevelopmentCallerAuthenticator)
        {
            return Results.Ok(new { mode = AuthOptions.DevelopmentMode });
        }

        var auth = http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value;
        return Results.Ok(new
        {
            mode = AuthOptions.JwtMode,
            authority = auth.Authority!.TrimEnd('/'),
            clientId = string.IsNullOrWhiteSpace(auth.ClientId) ? null : auth.ClientId.Trim(),
            scopes = auth.Scopes,
        });
    }

    /// <summary><c>{ email, admin, auditor, approver, development, people, accounts }</c>; <c>people</c> (the emails the
    /// rules name, for the Development user picker) only in Development authentication, where the caller picks anyway;
    /// <c>accounts</c> (every account of the rules, for the reconciliation report) only for admins and auditors.</summary>
    private static async Task<IResult> MeAsync(HttpContext http)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        var development = http.RequestServices.GetRequiredService<ICallerAuthenticator>() is DevelopmentCallerAuthenticator;
        var approver = rules.Rules.Any(r => rules.ExpandApprovers(r.Approval.Levels.SelectMany(l => l.Approvers)).Contains(caller.Email, StringComparer.OrdinalIgnoreCase));
        string[] people = development
            ? [.. rules.Admins.Concat(rules.Auditors).Concat(rules.ApproverGroups.Values.SelectMany(g => g)).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal)]
            : [];
        var admin = rules.IsAdmin(caller.Email);
        var auditor = rules.IsAuditor(caller.Email);
        var accounts = admin || auditor ? rules.Accounts.Select(a => new { id = a.Id, name = a.Name }) : [];
        return Results.Ok(new { email = caller.Email, admin, auditor, approver, development, people, accounts });
    }

    /// <summary><c>{ waiting: [request], decided: [request] }</c>: pending requests the caller may decide now (an
    /// approver of a level already notified, not their own unless the rule allows it, not yet decided by them), and the
    /// latest requests they decided.</summary>
    private static async Task<IResult> InboxAsync(HttpContext http)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var store = http.RequestServices.GetRequiredService<IRequestStore>();
        var pending = await store.QueryAsync(new RequestQuery(RequestStatus.Pending, Participant: caller.Email, PageSize: InboxScan), http.RequestAborted);
        var waiting = pending.Items
            .Where(r => r.ApprovalLevel >= 1 && r.IsApproverAtOrBelow(caller.Email, r.ApprovalLevel))
            .Where(r => r.Approval.AllowSelfApproval || !string.Equals(r.Requester, caller.Email, StringComparison.OrdinalIgnoreCase))
            .Where(r => !r.Decisions.Any(d => string.Equals(d.Approver, caller.Email, StringComparison.OrdinalIgnoreCase)))
            .Select(AccessRequestView.From);
        var recent = await store.QueryAsync(new RequestQuery(Participant: caller.Email, PageSize: InboxScan), http.RequestAborted);
        var decided = recent.Items
            .Where(r => r.Decisions.Any(d => string.Equals(d.Approver, caller.Email, StringComparison.OrdinalIgnoreCase)))
            .Take(50)
            .Select(AccessRequestView.From);
        return Results.Ok(new { waiting, decided });
    }

    /// <summary><c>?accountId=&amp;type=policy|group|resource&amp;value=&amp;policyArn=</c> → the rule a request would
    /// match (first match wins, as on submit): its name, default and maximum duration, whether a reason is required;
    /// 403 when none allows it.</summary>
    private static async Task<IResult> RuleAsync(HttpContext http)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var query = http.Request.Query;
        var accountId = query["accountId"].ToString();
        var value = query["value"].ToString();
        var policyArn = query["policyArn"].ToString();
        AccessSpec? access = query["type"].ToString() switch
        {
            "policy" when Grammar.IsPolicyArn(value) => AccessSpec.Policy(value),
            "group" when Grammar.IsGroupName(value) => AccessSpec.Group(value),
            "resource" when Grammar.IsResourceArn(value) && Grammar.IsPolicyArn(policyArn) => AccessSpec.Resource(value, policyArn),
            _ => null,
        };
        if (!Grammar.IsAccountId(accountId) || access is null)
        {
            return Problems.BadRequest("accountId, type and a valid value (and policyArn for a resource) are required.");
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (rules.Match(caller.Email, accountId, access) is not { } match)
        {
            return Problems.Forbidden("No rule allows you this access in this account.");
        }

        var rule = match.Rule;
        return Results.Ok(new
        {
            name = rule.Name,
            defaultDuration = AccessDuration.Format(rule.DefaultDuration),
            maxDuration = AccessDuration.Format(rule.MaxDuration),
            requireReason = rule.RequireReason,
            allowOnBehalfOf = rule.AllowOnBehalfOf,
            auto = rule.Approval.Auto,
        });
    }
}
