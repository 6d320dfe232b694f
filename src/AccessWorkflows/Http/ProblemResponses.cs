using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Http;

/// <summary>
/// The answers no handler wrote: an unhandled exception, and a refusal that left the response empty (no route 404,
/// wrong method 405, a body over the server's limit). Every error is <c>application/problem+json</c> (SPEC 8), and a
/// 500 never carries the exception: only a correlation id that the log carries beside the exception. The server
/// wires both with <see cref="UseProblemResponses"/>; another host calls <see cref="WriteUnhandledAsync"/> and
/// <see cref="WriteEmptyErrorAsync"/> from its own middleware.
/// </summary>
public static partial class ProblemResponses
{
    /// <summary>The problem member (and response header) naming the correlation id of an unexpected error.</summary>
    public const string CorrelationIdMember = "correlationId";

    public const string CorrelationIdHeader = "X-Correlation-Id";

    /// <summary>The longest request target (path and query) answered normally; longer ones are 414. Hosts let the
    /// server read request lines a good deal longer than this, so the refusal is ours, as problem+json.</summary>
    public const int MaxRequestTargetLength = 8 * 1024;

    private const string LoggerName = "AccessWorkflows.Http.Errors";

    /// <summary>Adds the global exception handler and problem+json status code pages. Call it first in the pipeline,
    /// so it covers every route and static files alike.</summary>
    public static IApplicationBuilder UseProblemResponses(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = http => WriteUnhandledAsync(http, http.Features.Get<IExceptionHandlerFeature>()?.Error),
        });
        app.UseStatusCodePages(context => WriteEmptyErrorAsync(context.HttpContext));
        app.Use((http, next) => IsTargetTooLong(http) ? TargetTooLong().ExecuteAsync(http) : next(http));
        return app;
    }

    /// <summary>The 414 answer to a target over <see cref="MaxRequestTargetLength"/>, the same on every host.</summary>
    public static IResult TargetTooLong() => Results.Problem(
        $"The request target is longer than {MaxRequestTargetLength} characters.",
        statusCode: StatusCodes.Status414UriTooLong,
        title: TitleOf(StatusCodes.Status414UriTooLong));

    /// <summary>Whether the request's target (path and query, as sent) is over <see cref="MaxRequestTargetLength"/>.</summary>
    public static bool IsTargetTooLong(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var length = raw?.Length ?? ((http.Request.Path.Value?.Length ?? 0) + (http.Request.QueryString.Value?.Length ?? 0));
        return length > MaxRequestTargetLength;
    }

    /// <summary>
    /// Answers a request whose handler threw. A refusal the server raised as an exception (a body over Kestrel's
    /// limit, a malformed request line) keeps its 4xx; anything else is a 500 whose body says only that it happened
    /// and under which correlation id it is logged.
    /// </summary>
    public static async Task WriteUnhandledAsync(HttpContext http, Exception? exception)
    {
        var status = exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
        var correlationId = http.TraceIdentifier;
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerName);
        if (status >= StatusCodes.Status500InternalServerError)
        {
            LogUnhandled(logger, correlationId, http.Request.Method, http.Request.Path, exception);
        }
        else
        {
            LogRefused(logger, correlationId, status, http.Request.Method, http.Request.Path, exception?.Message ?? "refused");
        }

        if (http.Response.HasStarted)
        {
            return; // nothing more can be said; the server ends the response
        }

        http.Response.Clear();
        http.Response.Headers[CorrelationIdHeader] = correlationId;
        var (title, detail) = status >= StatusCodes.Status500InternalServerError
            ? ("Unexpected error.", $"Something went wrong on our side. The operators can find it under correlation id {correlationId}.")
            : (TitleOf(status), exception?.Message ?? TitleOf(status));
        await Results.Problem(detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { [CorrelationIdMember] = correlationId })
            .ExecuteAsync(http);
    }

    /// <summary>Gives an error response that has no body yet (4xx and 5xx from routing or the server) a problem body.</summary>
    public static Task WriteEmptyErrorAsync(HttpContext http)
    {
        var status = http.Response.StatusCode;
        if (http.Response.HasStarted || status < StatusCodes.Status400BadRequest || http.Response.ContentLength is > 0 || http.Response.ContentType is not null)
        {
            return Task.CompletedTask;
        }

        var detail = status switch
        {
            StatusCodes.Status404NotFound => $"There is no route {http.Request.Path}.",
            StatusCodes.Status405MethodNotAllowed => $"{http.Request.Method} is not allowed on {http.Request.Path}.",
            _ => TitleOf(status),
        };
        return Results.Problem(detail, statusCode: status, title: TitleOf(status)).ExecuteAsync(http);
    }

    /// <summary>The problem title of an error status, the same wherever the error is written.</summary>
    public static string TitleOf(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request is not valid.",
        StatusCodes.Status404NotFound => "Not found.",
        StatusCodes.Status405MethodNotAllowed => "Method not allowed.",
        StatusCodes.Status408RequestTimeout => "Request timed out.",
        StatusCodes.Status411LengthRequired => "Length required.",
        StatusCodes.Status413PayloadTooLarge => "Body too large.",
        StatusCodes.Status414UriTooLong => "URI too long.",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type.",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "Request headers too large.",
        >= 500 => "Unexpected error.",
        _ => "The request was refused.",
    };

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Unhandled error {CorrelationId} on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string correlationId, string method, string path, Exception? exception);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Request {CorrelationId} refused by the server with {Status} on {Method} {Path}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string correlationId, int status, string method, string path, string reason);
}
