using System.Text.Json;
using AccessWorkflows.Requests;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Http;

/// <summary>Reads request bodies with a size cap before anything parses them (SPEC 12).</summary>
public static class HttpBodies
{
    /// <summary>The cap of API bodies: far above any valid request (a reason is at most 1,000 characters).</summary>
    public const int MaxApiBodyBytes = 64 * 1024;

    public static JsonSerializerOptions Json { get; } = CreateJsonOptions();

    /// <summary>Whether the request carries a body: a positive Content-Length, or a chunked (or otherwise
    /// length-less) transfer encoding.</summary>
    public static bool HasBody(HttpRequest request) =>
        request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    /// <summary>Reads the raw body up to <paramref name="maxBytes"/>; null when it is larger.</summary>
    public static async Task<byte[]?> ReadCappedAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken = default)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a JSON body: the value, or the problem result to answer with (413 too large, 400 malformed).</summary>
    public static async Task<(T? Value, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request, int maxBytes = MaxApiBodyBytes, CancellationToken cancellationToken = default)
        where T : class
    {
        var bytes = await ReadCappedAsync(request, maxBytes, cancellationToken);
        if (bytes is null)
        {
            return (null, Problems.TooLarge(maxBytes));
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(bytes, Json);
            return value is null ? (null, Problems.BadRequest("The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.BadRequest($"The body is not valid JSON for this route: {ex.Message}"));
        }
    }

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }
}

/// <summary>RFC 7807 answers (<c>application/problem+json</c>).</summary>
public static class Problems
{
    public static IResult BadRequest(string detail, IReadOnlyDictionary<string, string>? errors = null) =>
        errors is { Count: > 0 }
            ? Results.ValidationProblem(errors.ToDictionary(e => e.Key, e => new[] { e.Value }), detail: detail, title: "The request is not valid.")
            : Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid.");

    public static IResult Unauthorized() =>
        Results.Problem("Authenticate first: a bearer token (or X-Dev-User in Development mode).", statusCode: StatusCodes.Status401Unauthorized, title: "Not authenticated.");

    public static IResult Forbidden(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Not allowed.");

    public static IResult NotFound(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found.");

    public static IResult Conflict(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Not in a state that allows this.");

    /// <summary>409 naming the state the request is in (<c>requestStatus</c>, its wire name; <c>status</c> is the HTTP status, as RFC 7807 has it), e.g. the outcome a late
    /// decision arrived after.</summary>
    public static IResult Conflict(string detail, RequestStatus status) =>
        Results.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Not in a state that allows this.", extensions: new Dictionary<string, object?> { ["requestStatus"] = status.WireName() });

    /// <summary>429: a limit is reached; <paramref name="detail"/> names it. With <paramref name="retryAfter"/> the
    /// caller also gets a <c>Retry-After</c> header (whole seconds, at least 1).</summary>
    public static IResult TooManyRequests(string detail, TimeSpan? retryAfter = null)
    {
        var problem = Results.Problem(detail, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests.");
        return retryAfter is { } wait ? new WithRetryAfter(problem, wait) : problem;
    }

    public static IResult TooLarge(int maxBytes) => Results.Problem($"The body is larger than {maxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large.");
}

/// <summary>A result that adds <c>Retry-After</c> (RFC 9110 10.2.3, delay-seconds) before the inner result writes.</summary>
internal sealed class WithRetryAfter(IResult inner, TimeSpan wait) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return inner.ExecuteAsync(httpContext);
    }
}
