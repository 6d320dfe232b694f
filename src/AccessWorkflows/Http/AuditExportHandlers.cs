using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Http;

/// <summary>
/// <c>GET /api/audit?since=&amp;until=[&amp;pageSize=][&amp;continuationToken=]</c> (auditors and admins): every audit event
/// whose instant is in [since, until), oldest first, as NDJSON in the schema of docs/audit-export.md; the next page
/// in a <c>Link: &lt;...&gt;; rel="next"</c> header, none on the last (SPEC 8, 13). Both hosts call
/// <see cref="ExportAsync"/>.
/// </summary>
public static partial class AuditExportHandlers
{
    public const string Route = "/api/audit";

    public const string NdjsonContentType = "application/x-ndjson";

    /// <summary>ISO 8601 in UTC, to the second or to 100 ns: <c>2026-03-14T09:26:53Z</c>, <c>2026-03-14T09:26:53.589Z</c>.
    /// Only <c>Z</c>: a <c>+00:00</c> offset arrives as a space when a client forgets to encode the query string.</summary>
    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?Z$", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex UtcInstant();

    private static readonly string[] InstantFormats = ["yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'"];

    public static IEndpointRouteBuilder MapAuditExportApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Route, (Func<HttpContext, Task<IResult>>)ExportAsync);
        return endpoints;
    }

    /// <summary>401 without identity, 403 for anyone but auditors and admins, 400 for bounds, page size or token
    /// that are not valid; otherwise 200 with one JSON object per line (possibly none).</summary>
    public static async Task<IResult> ExportAsync(HttpContext http)
    {
        var (caller, refusal) = await AccessRequestHandlers.AuthenticateLimitedAsync(http);
        if (caller is null)
        {
            return refusal;
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        if (!rules.IsAdmin(caller.Email) && !rules.IsAuditor(caller.Email))
        {
            return Problems.Forbidden("Only auditors and admins can export the audit log.");
        }

        var parameters = http.Request.Query;
        if (!TryParseInstant(parameters["since"], out var since) || !TryParseInstant(parameters["until"], out var until))
        {
            return Problems.BadRequest("since and until must be ISO 8601 instants in UTC, such as 2026-03-14T09:00:00Z.");
        }

        if (until <= since)
        {
            return Problems.BadRequest("until must be later than since.");
        }

        var pageSize = AuditQuery.DefaultPageSize;
        if (parameters["pageSize"].ToString() is { Length: > 0 } sizeText
            && (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > AuditQuery.MaxPageSize))
        {
            return Problems.BadRequest($"pageSize must be between 1 and {AuditQuery.MaxPageSize}.");
        }

        var token = parameters["continuationToken"].ToString();
        var query = new AuditQuery(since, until, pageSize, token.Length == 0 ? null : token);
        AuditPage page;
        try
        {
            page = await http.RequestServices.GetRequiredService<IAuditLog>().QueryAsync(query, http.RequestAborted);
        }
        catch (ArgumentException)
        {
            return Problems.BadRequest("The continuation token is not valid for these bounds.");
        }

        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuditExportHandlers).FullName!);
        LogExported(logger, caller.Email, since, until, page.Items.Count, page.ContinuationToken is not null);

        var next = page.ContinuationToken is { } nextToken
            ? $"{http.Request.PathBase}{http.Request.Path}?since={Format(since)}&until={Format(until)}&pageSize={pageSize}&continuationToken={Uri.EscapeDataString(nextToken)}"
            : null;
        return new NdjsonResult(page.Items, next);
    }

    private static bool TryParseInstant(string? text, out DateTimeOffset instant)
    {
        instant = default;
        return text is not null
            && UtcInstant().IsMatch(text)
            && DateTimeOffset.TryParseExact(text, InstantFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant);
    }

    /// <summary>The canonical form of a bound in the next link (the token is bound to the instant, not the text).</summary>
    private static string Format(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Audit export by {Caller} for [{Since:O}, {Until:O}): {Count} events, more: {More}")]
    private static partial void LogExported(ILogger logger, string caller, DateTimeOffset since, DateTimeOffset until, int count, bool more);

    /// <summary>Writes the page one line at a time, so a page of large details is never held twice in memory.</summary>
    private sealed class NdjsonResult(IReadOnlyList<AuditEvent> events, string? next) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = NdjsonContentType;
            response.Headers.CacheControl = "no-store";
            if (next is not null)
            {
                response.Headers.Link = $"<{next}>; rel=\"next\"";
            }

            var body = response.BodyWriter;
            await using var json = new Utf8JsonWriter(body);
            foreach (var auditEvent in events)
            {
                json.Reset();
                AuditExportSchema.Write(json, auditEvent);
                await json.FlushAsync(httpContext.RequestAborted);
                body.Write("\n"u8);
                await body.FlushAsync(httpContext.RequestAborted);
            }
        }
    }
}

/// <summary>
/// One exported event: OCSF field names where they fit (class User Access Management), then the product's own
/// fields. docs/audit-export.md documents every field; the server tests check each line against that table.
/// </summary>
public static class AuditExportSchema
{
    /// <summary>The OCSF schema version whose attributes the export uses.</summary>
    public const string OcsfVersion = "1.3.0";

    public const string ProductName = "AccessWorkflows";

    private const int IdentityAndAccessManagement = 3;
    private const int UserAccessManagement = 3005;

    private static readonly string ProductVersion =
        typeof(AuditExportSchema).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(AuditExportSchema).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    public static void Write(Utf8JsonWriter json, AuditEvent auditEvent)
    {
        var (activityId, activityName) = Activity(auditEvent.Type);
        var failed = auditEvent.Type is "decision.refused" or "request.failed";

        json.WriteStartObject();
        json.WriteNumber("time", auditEvent.At.ToUnixTimeMilliseconds());
        json.WriteNumber("category_uid", IdentityAndAccessManagement);
        json.WriteNumber("class_uid", UserAccessManagement);
        json.WriteNumber("activity_id", activityId);
        json.WriteString("activity_name", activityName);
        json.WriteNumber("type_uid", (UserAccessManagement * 100) + activityId);
        json.WriteNumber("severity_id", 1); // Informational: the SIEM's rules decide what deserves attention
        json.WriteNumber("status_id", failed ? 2 : 1);
        json.WriteString("status", failed ? "Failure" : "Success");
        json.WriteString("message", auditEvent.Detail is { Length: > 0 } detail ? $"{auditEvent.Type}: {detail}" : auditEvent.Type);

        json.WriteStartObject("actor");
        json.WriteStartObject("user");
        json.WriteString("name", auditEvent.Actor);
        if (Grammar.IsEmail(auditEvent.Actor))
        {
            json.WriteString("email_addr", auditEvent.Actor);
        }

        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteStartObject("metadata");
        json.WriteString("uid", auditEvent.Id);
        json.WriteString("version", OcsfVersion);
        json.WriteStartObject("product");
        json.WriteString("name", ProductName);
        json.WriteString("vendor_name", ProductName);
        json.WriteString("version", ProductVersion);
        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteString("id", auditEvent.Id);
        json.WriteString("type", auditEvent.Type);
        if (AccountIdOf(auditEvent.RequestId) is { } accountId)
        {
            json.WriteString("accountId", accountId);
        }
        else
        {
            json.WriteString("requestId", auditEvent.RequestId);
        }

        json.WriteString("channel", auditEvent.Channel);
        json.WriteString("detail", auditEvent.Detail);
        json.WriteEndObject();
    }

    /// <summary>Account-level events are stored under <c>account:&lt;12 digits&gt;</c>; anything else is a request id.</summary>
    public static string? AccountIdOf(string storedRequestId) =>
        storedRequestId.StartsWith("account:", StringComparison.Ordinal) && Grammar.IsAccountId(storedRequestId["account:".Length..])
            ? storedRequestId["account:".Length..]
            : null;

    /// <summary>The grant itself is OCSF's Assign / Revoke Privileges; every other step of a request is Other (99),
    /// with the product's event type as the activity name, as OCSF asks for unmapped activities.</summary>
    private static (int Id, string Name) Activity(string type) => type switch
    {
        "request.active" or "request.failed" => (1, "Assign Privileges"),
        "request.expired" or "request.relinquished" or "request.revoked" => (2, "Revoke Privileges"),
        _ => (99, type),
    };
}
