using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Http;

/// <summary>
/// The request routes of SPEC 8. Both hosts call these handlers: the server maps them with
/// <see cref="MapAccessRequestApi"/>, the Functions app calls them from its HTTP functions. Every handler
/// authenticates first, then reads a size-capped body, then authorizes against the stored request.
/// </summary>
public static class AccessRequestHandlers
{
    private const int MaxPageSize = 200;

    public static IEndpointRouteBuilder MapAccessRequestApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/requests", (Func<HttpContext, Task<IResult>>)CreateAsync);
        endpoints.MapGet("/api/requests", (Func<HttpContext, Task<IResult>>)ListAsync);
        endpoints.MapGet("/api/requests/{id}", (Func<HttpContext, string, Task<IResult>>)GetAsync);
        endpoints.MapPost("/api/requests/{id}/decision", (Func<HttpContext, string, Task<IResult>>)DecideAsync);
        endpoints.MapPost("/api/requests/{id}/relinquish", (Func<HttpContext, string, Task<IResult>>)RelinquishAsync);
        endpoints.MapPost("/api/requests/{id}/revoke", (Func<HttpContext, string, Task<IResult>>)RevokeAsync);
        endpoints.MapGet("/api/requests/{id}/audit", (Func<HttpContext, string, Task<IResult>>)AuditAsync);
        return endpoints;
    }

    /// <summary><c>POST /api/requests</c> → 202 with the request; 400 invalid; 403 no rule allows.</summary>
    public static async Task<IResult> CreateAsync(HttpContext http)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var (body, problem) = await HttpBodies.ReadJsonAsync<NewAccessRequest>(http.Request, cancellationToken: http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        var idempotencyKey = http.Request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length > 200)
        {
            return Problems.BadRequest("The Idempotency-Key header is longer than 200 characters.");
        }

        var commands = http.RequestServices.GetRequiredService<IAccessRequestCommands>();
        var result = await commands.SubmitAsync(caller.Email, body!, Channels.Api, idempotencyKey.Length == 0 ? null : idempotencyKey, http.RequestAborted);
        return result.Outcome switch
        {
            CommandOutcome.Accepted => Results.Accepted($"/api/requests/{result.Request!.Id}", AccessRequestView.From(result.Request)),
            _ => FromOutcome(result.Outcome, result.Problem, result.Errors),
        };
    }

    /// <summary><c>GET /api/requests/{id}</c>: the requester, the beneficiary, its approvers, admins and auditors.</summary>
    public static async Task<IResult> GetAsync(HttpContext http, string id)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var request = await http.RequestServices.GetRequiredService<IRequestStore>().GetAsync(id, http.RequestAborted);
        if (request is null)
        {
            return Problems.NotFound($"There is no request {id}.");
        }

        return CanRead(http, caller, request)
            ? Results.Ok(AccessRequestView.From(request))
            : Problems.Forbidden("Only the requester, its approvers, admins and auditors can read this request.");
    }

    /// <summary><c>GET /api/requests?status=&amp;requester=&amp;mine=true&amp;pageSize=&amp;continuationToken=</c>, newest first.
    /// Admins and auditors see every request; anyone else sees the requests they take part in.</summary>
    public static async Task<IResult> ListAsync(HttpContext http)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var query = http.Request.Query;
        RequestStatus? status = null;
        if (query["status"].ToString() is { Length: > 0 } statusText)
        {
            if (!RequestStatusExtensions.TryParseWireName(statusText, out var parsed))
            {
                return Problems.BadRequest($"Unknown status '{statusText}'.");
            }

            status = parsed;
        }

        string? requester = null;
        if (query["requester"].ToString() is { Length: > 0 } requesterText)
        {
            if (!Grammar.IsEmail(requesterText))
            {
                return Problems.BadRequest("requester must be an email.");
            }

            requester = Grammar.NormalizeEmail(requesterText);
        }

        if (string.Equals(query["mine"], "true", StringComparison.OrdinalIgnoreCase))
        {
            requester = caller.Email;
        }

        var pageSize = 50;
        if (query["pageSize"].ToString() is { Length: > 0 } sizeText && (!int.TryParse(sizeText, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            return Problems.BadRequest($"pageSize must be between 1 and {MaxPageSize}.");
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        var seesAll = rules.IsAdmin(caller.Email) || rules.IsAuditor(caller.Email);
        var continuation = query["continuationToken"].ToString();
        try
        {
            var page = await http.RequestServices.GetRequiredService<IRequestStore>().QueryAsync(
                new RequestQuery(status, requester, seesAll ? null : caller.Email, pageSize, continuation.Length == 0 ? null : continuation),
                http.RequestAborted);
            return Results.Ok(new RequestListView([.. page.Items.Select(AccessRequestView.From)], page.ContinuationToken));
        }
        catch (ArgumentException)
        {
            return Problems.BadRequest("The continuation token is not valid.");
        }
    }

    /// <summary><c>POST /api/requests/{id}/decision</c> → 202; 403 not an approver / self-approval; 409 not pending.</summary>
    public static async Task<IResult> DecideAsync(HttpContext http, string id)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var (body, problem) = await HttpBodies.ReadJsonAsync<DecisionBody>(http.Request, cancellationToken: http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        if (!DecisionKinds.TryParse(body!.Decision, out var kind))
        {
            return Problems.BadRequest("decision must be approve or deny.", new Dictionary<string, string> { ["decision"] = "must be approve or deny" });
        }

        TimeSpan? duration = null;
        if (body.Duration is not null)
        {
            if (!AccessDuration.TryParse(body.Duration, out var d))
            {
                return Problems.BadRequest("duration is not a duration.", new Dictionary<string, string> { ["duration"] = "must be an ISO 8601 duration such as PT2H" });
            }

            duration = d;
        }

        var commands = http.RequestServices.GetRequiredService<IAccessRequestCommands>();
        var result = await commands.DecideAsync(id, caller.Email, kind, duration, body.Comment, Channels.Api, Guid.NewGuid().ToString("N"), http.RequestAborted);
        return ToResult(result);
    }

    /// <summary><c>POST /api/requests/{id}/relinquish</c> → 202; 403 not the requester; 409 not active. It needs no
    /// body, but one that is sent is read within the cap like every other route's (413 beyond it).</summary>
    public static async Task<IResult> RelinquishAsync(HttpContext http, string id)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        if (HttpBodies.HasBody(http.Request) && await HttpBodies.ReadCappedAsync(http.Request, HttpBodies.MaxApiBodyBytes, http.RequestAborted) is null)
        {
            return Problems.TooLarge(HttpBodies.MaxApiBodyBytes);
        }

        var result = await http.RequestServices.GetRequiredService<IAccessRequestCommands>().RelinquishAsync(id, caller.Email, Channels.Api, http.RequestAborted);
        return ToResult(result);
    }

    /// <summary><c>POST /api/requests/{id}/revoke</c> (admins) → 202; optional body <c>{ "comment": "..." }</c>.</summary>
    public static async Task<IResult> RevokeAsync(HttpContext http, string id)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        string? comment = null;
        if (HttpBodies.HasBody(http.Request))
        {
            var (body, problem) = await HttpBodies.ReadJsonAsync<RevokeBody>(http.Request, cancellationToken: http.RequestAborted);
            if (problem is not null)
            {
                return problem;
            }

            comment = body!.Comment;
            if (comment is { Length: > Grammar.MaxReasonLength })
            {
                return Problems.BadRequest($"comment must be at most {Grammar.MaxReasonLength} characters.");
            }
        }

        var result = await http.RequestServices.GetRequiredService<IAccessRequestCommands>().RevokeAsync(id, caller.Email, Channels.Api, comment, http.RequestAborted);
        return ToResult(result);
    }

    /// <summary><c>GET /api/requests/{id}/audit</c> (admins, auditors): the request's audit events, oldest first.</summary>
    public static async Task<IResult> AuditAsync(HttpContext http, string id)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (!rules.IsAdmin(caller.Email) && !rules.IsAuditor(caller.Email))
        {
            return Problems.Forbidden("Only admins and auditors can read the audit log.");
        }

        if (await http.RequestServices.GetRequiredService<IRequestStore>().GetAsync(id, http.RequestAborted) is null)
        {
            return Problems.NotFound($"There is no request {id}.");
        }

        var events = await http.RequestServices.GetRequiredService<IAuditLog>().ListAsync(id, http.RequestAborted);
        return Results.Ok(new { items = events });
    }

    /// <summary>Authenticates the caller with the configured <see cref="ICallerAuthenticator"/>; null → 401.</summary>
    public static Task<Caller?> AuthenticateAsync(HttpContext http) =>
        http.RequestServices.GetRequiredService<ICallerAuthenticator>().AuthenticateAsync(http.Request, http.RequestAborted);

    internal static bool CanRead(HttpContext http, Caller caller, AccessRequest request)
    {
        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        return rules.IsAdmin(caller.Email) || rules.IsAuditor(caller.Email) || request.Participants.Contains(caller.Email, StringComparer.OrdinalIgnoreCase);
    }

    private static IResult ToResult(CommandResult result) => result.Outcome switch
    {
        CommandOutcome.Accepted => Results.Accepted($"/api/requests/{result.Request!.Id}", AccessRequestView.From(result.Request)),
        CommandOutcome.Conflict when result.Request is { } request => Problems.Conflict(result.Problem ?? "Conflict.", request.Status),
        _ => FromOutcome(result.Outcome, result.Problem, result.Errors),
    };

    private static IResult FromOutcome(CommandOutcome outcome, string? problem, IReadOnlyDictionary<string, string>? errors) => outcome switch
    {
        CommandOutcome.Invalid => Problems.BadRequest(problem ?? "The request is not valid.", errors),
        CommandOutcome.Forbidden => Problems.Forbidden(problem ?? "Not allowed."),
        CommandOutcome.NotFound => Problems.NotFound(problem ?? "Not found."),
        CommandOutcome.Conflict => Problems.Conflict(problem ?? "Conflict."),
        _ => throw new InvalidOperationException($"Unexpected outcome {outcome}."),
    };

    private sealed record DecisionBody(string? Decision, string? Duration, string? Comment);

    private sealed record RevokeBody(string? Comment);
}
