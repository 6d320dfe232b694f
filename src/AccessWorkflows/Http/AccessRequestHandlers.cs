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
        endpoints.MapPost("/api/requests/{id}/extend", (Func<HttpContext, string, Task<IResult>>)ExtendAsync);
        endpoints.MapPost("/api/requests/{id}/cancel", (Func<HttpContext, string, Task<IResult>>)CancelAsync);
        endpoints.MapPost("/api/requests/{id}/review", (Func<HttpContext, string, Task<IResult>>)ReviewAsync);
        endpoints.MapGet("/api/requests/{id}/audit", (Func<HttpContext, string, Task<IResult>>)AuditAsync);
        return endpoints;
    }

    /// <summary><c>POST /api/requests</c> → 202 with the request; 400 invalid; 403 no rule allows.</summary>
    public static async Task<IResult> CreateAsync(HttpContext http)
    {
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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

    /// <summary><c>GET /api/requests?status=&amp;requester=&amp;mine=true&amp;breakGlass=unreviewed&amp;pageSize=&amp;continuationToken=</c>,
    /// newest first. Admins and auditors see every request; anyone else sees the requests they take part in.
    /// <c>breakGlass=unreviewed</c> keeps the break-glass requests still waiting for their review.</summary>
    public static async Task<IResult> ListAsync(HttpContext http)
    {
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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

        var unreviewedBreakGlass = false;
        if (query["breakGlass"].ToString() is { Length: > 0 } breakGlassText)
        {
            if (breakGlassText != "unreviewed")
            {
                return Problems.BadRequest("breakGlass must be 'unreviewed'.", new Dictionary<string, string> { ["breakGlass"] = "must be 'unreviewed'" });
            }

            unreviewedBreakGlass = true;
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
                new RequestQuery(status, requester, seesAll ? null : caller.Email, pageSize, continuation.Length == 0 ? null : continuation, unreviewedBreakGlass),
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
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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

    /// <summary><c>POST /api/requests/{id}/extend</c> <c>{ "duration": "PT1H", "reason": "..." }</c> (the requester) →
    /// 202 (applied, or waiting for an approver, by the workflow); 400 no or bad duration; 403 not the requester; 409 not
    /// active, no extensions allowed, one waiting, or beyond <c>maxExtendBy</c> / <c>maxExtensions</c>.</summary>
    public static async Task<IResult> ExtendAsync(HttpContext http, string id)
    {
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        var (body, problem) = await HttpBodies.ReadJsonAsync<ExtendBody>(http.Request, cancellationToken: http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        if (!AccessDuration.TryParse(body!.Duration, out var duration))
        {
            return Problems.BadRequest("duration is required.", new Dictionary<string, string> { ["duration"] = "must be an ISO 8601 duration such as PT1H (or 30m, 1h, 1d)" });
        }

        if (body.Reason is { Length: > Grammar.MaxReasonLength })
        {
            return Problems.BadRequest($"reason must be at most {Grammar.MaxReasonLength} characters.", new Dictionary<string, string> { ["reason"] = $"must be at most {Grammar.MaxReasonLength} characters" });
        }

        var commands = http.RequestServices.GetRequiredService<IAccessRequestCommands>();
        var result = await commands.ExtendAsync(id, caller.Email, duration, body.Reason, Channels.Api, Guid.NewGuid().ToString("N"), http.RequestAborted);
        return ToResult(result);
    }

    /// <summary><c>POST /api/requests/{id}/cancel</c> (the requester) → 200 when already cancelled, else 202 (the
    /// workflow ends it cancelled); 403 not the requester; 409 with the outcome once it is no longer pending. No body.</summary>
    public static async Task<IResult> CancelAsync(HttpContext http, string id)
    {
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        if (HttpBodies.HasBody(http.Request) && await HttpBodies.ReadCappedAsync(http.Request, HttpBodies.MaxApiBodyBytes, http.RequestAborted) is null)
        {
            return Problems.TooLarge(HttpBodies.MaxApiBodyBytes);
        }

        var result = await http.RequestServices.GetRequiredService<IAccessRequestCommands>().CancelAsync(id, caller.Email, Channels.Api, http.RequestAborted);
        return result is { Accepted: true, Request.Status: RequestStatus.Cancelled }
            ? Results.Ok(AccessRequestView.From(result.Request))
            : ToResult(result);
    }

    /// <summary><c>POST /api/requests/{id}/review</c> <c>{ "comment": "..." }</c>: the post-incident review of a
    /// break-glass request by an approver of its rule or an admin → 202; 400 no comment; 403 the requester or anyone
    /// else; 409 not break-glass or already reviewed.</summary>
    public static async Task<IResult> ReviewAsync(HttpContext http, string id)
    {
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        var (body, problem) = await HttpBodies.ReadJsonAsync<ReviewBody>(http.Request, cancellationToken: http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        var result = await http.RequestServices.GetRequiredService<IAccessRequestCommands>().ReviewAsync(id, caller.Email, body!.Comment, Channels.Api, http.RequestAborted);
        return ToResult(result);
    }

    /// <summary><c>GET /api/requests/{id}/audit</c> (admins, auditors): the request's audit events, oldest first.</summary>
    public static async Task<IResult> AuditAsync(HttpContext http, string id)
    {
        var (caller, refusal) = await AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
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

    /// <summary>Authenticates the caller, then takes one permit of the caller's rate limit
    /// (<see cref="IdentityRateLimiter"/>): the caller, or the answer to give instead (401, or 429 with Retry-After).</summary>
    public static async Task<(Caller? Caller, IResult Refusal)> AuthenticateLimitedAsync(HttpContext http)
    {
        if (await AuthenticateAsync(http) is not { } caller)
        {
            return (null, Problems.Unauthorized());
        }

        var limited = http.RequestServices.GetService<IdentityRateLimiter>()?.TryAcquire("api:" + caller.Email);
        return limited is null ? (caller, Results.Empty) : (null, limited);
    }

    /// <summary>Authenticates the caller with the configured <see cref="ICallerAuthenticator"/>; null → 401.</summary>
    public static Task<Caller?> AuthenticateAsync(HttpContext http) =>
        http.RequestServices.GetRequiredService<ICallerAuthenticator>().AuthenticateAsync(http.Request, http.RequestAborted);

    internal static bool CanRead(HttpContext http, Caller caller, AccessRequest request) =>
        MayRead(http.RequestServices.GetRequiredService<AccessRules>(), caller.Email, request);

    /// <summary>Who may read a request (SPEC 8): admins, auditors, and its requester, beneficiary and approvers.</summary>
    public static bool MayRead(AccessRules rules, string email, AccessRequest request) =>
        rules.IsAdmin(email) || rules.IsAuditor(email) || request.Participants.Contains(email, StringComparer.OrdinalIgnoreCase);

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
        CommandOutcome.LimitReached => Problems.TooManyRequests(problem ?? "A limit is reached."),
        _ => throw new InvalidOperationException($"Unexpected outcome {outcome}."),
    };

    private sealed record DecisionBody(string? Decision, string? Duration, string? Comment);

    private sealed record RevokeBody(string? Comment);

    private sealed record ExtendBody(string? Duration, string? Reason);
    private sealed record ReviewBody(string? Comment);
}
