using AccessWorkflows.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Http;

/// <summary><c>GET /api/requests/{id}/activity</c> (SPEC 13): what an ended grant was used for.</summary>
public static class ActivityHandlers
{
    public static IEndpointRouteBuilder MapActivityApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/requests/{id}/activity", (Func<HttpContext, string, Task<IResult>>)ActivityAsync);
        return endpoints;
    }

    /// <summary>→ <c>{ from, to, total, byEvent: [{ service, eventName, count, errors }], first, last }</c>; 404 until
    /// collected (<c>AccessWorkflows:Aws:ActivityDelay</c> after the grant ended) and for requests never active. Read
    /// like the request itself: requester, its approvers, admins and auditors.</summary>
    public static async Task<IResult> ActivityAsync(HttpContext http, string id)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var request = await http.RequestServices.GetRequiredService<IRequestStore>().GetAsync(id, http.RequestAborted);
        if (request is null)
        {
            return Problems.NotFound($"There is no request {id}.");
        }

        if (!AccessRequestHandlers.CanRead(http, caller, request))
        {
            return Problems.Forbidden("Only the requester, its approvers, admins and auditors can read this request.");
        }

        return request.Activity is { } activity
            ? Results.Ok(activity)
            : Problems.NotFound($"The activity of request {id} is not collected (yet): it is collected a while after the grant ends.");
    }
}
