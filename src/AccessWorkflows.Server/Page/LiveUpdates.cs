using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using AccessWorkflows.Http;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccessWorkflows.Server.Page;

/// <summary>One stored change of a request: the feed's version after it, the request as stored.</summary>
internal sealed record RequestChanged(long Version, AccessRequest Request);

/// <summary>
/// Every change the server stores to a request, in order, handed to the page's event streams. In memory: this server
/// is the only writer of its data directory (the data lock), so every change passes through here. A subscriber that
/// falls behind by more than <see cref="Backlog"/> changes loses the oldest, which only costs the page a refresh.
/// </summary>
internal sealed class RequestChangeFeed
{
    public const int Backlog = 256;

    private readonly ConcurrentDictionary<Channel<RequestChanged>, byte> _subscribers = new();
    private long _version;

    /// <summary>How many changes were published since the server started.</summary>
    public long Version => Interlocked.Read(ref _version);

    public void Publish(AccessRequest request)
    {
        var change = new RequestChanged(Interlocked.Increment(ref _version), request);
        foreach (var subscriber in _subscribers.Keys)
        {
            subscriber.Writer.TryWrite(change);
        }
    }

    /// <summary>Changes from now on, until the subscription is disposed.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<RequestChanged>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        _subscribers[channel] = 0;
        return new Subscription(this, channel);
    }

    public sealed class Subscription(RequestChangeFeed feed, Channel<RequestChanged> channel) : IDisposable
    {
        public ChannelReader<RequestChanged> Changes => channel.Reader;

        public void Dispose() => feed._subscribers.TryRemove(channel, out _);
    }
}

/// <summary>Publishes every request the wrapped store creates or changes to the <see cref="RequestChangeFeed"/>.</summary>
internal sealed class ObservedRequestStore(IRequestStore inner, RequestChangeFeed feed) : IRequestStore
{
    /// <summary>The store that keeps the requests (SQLite or tables).</summary>
    public IRequestStore Inner => inner;

    public async Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default)
    {
        var created = await inner.TryCreateAsync(request, cancellationToken);
        if (created)
        {
            feed.Publish(request);
        }

        return created;
    }

    public Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public async Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default)
    {
        // The mutation may run more than once (optimistic concurrency); its last answer says whether it was saved.
        var changed = false;
        var stored = await inner.UpdateAsync(id, request => changed = mutate(request), cancellationToken);
        if (changed)
        {
            feed.Publish(stored);
        }

        return stored;
    }

    public Task<RequestPage> QueryAsync(RequestQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);
}

/// <summary>
/// Tickets that let an <c>EventSource</c> (which cannot send an Authorization header) open the event stream: issued
/// to an authenticated caller, good for <see cref="Lifetime"/>, redeemed once. The URL that carries one is worthless
/// after the connection it opened, so a ticket found in a log or the browser's history opens nothing; the caller's
/// token itself never appears in a URL.
/// </summary>
internal sealed class LiveTickets(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    /// <summary>Outstanding tickets at most: beyond it, expired ones are swept before a new one is issued.</summary>
    private const int SweepAbove = 1024;

    private readonly ConcurrentDictionary<string, (string Email, DateTimeOffset Expires)> _tickets = new(StringComparer.Ordinal);

    public string Issue(string email)
    {
        var now = time.GetUtcNow();
        if (_tickets.Count > SweepAbove)
        {
            foreach (var (ticket, entry) in _tickets)
            {
                if (entry.Expires <= now)
                {
                    _tickets.TryRemove(ticket, out _);
                }
            }
        }

        var issued = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        _tickets[issued] = (email, now + Lifetime);
        return issued;
    }

    /// <summary>The email the ticket was issued to, once, while it is valid; null otherwise.</summary>
    public string? Redeem(string ticket) =>
        _tickets.TryRemove(ticket, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Email : null;
}

/// <summary>
/// <c>POST /console/events/ticket</c> (authenticated as every call) → <c>{ ticket, expiresIn }</c>;
/// <c>GET /console/events?ticket=</c> → <c>text/event-stream</c>: <c>ready</c> with the feed's version, then a
/// <c>change</c> event (<c>{ version, id, status }</c>) for each change of a request the caller may read (requester,
/// beneficiary, approver, admin, auditor — as <c>GET /api/requests/{id}</c>), a comment every
/// <see cref="KeepAlive"/>. A stream ends after <see cref="MaxStreamLifetime"/>: the page asks for a new ticket with
/// its current credentials, so a stream never outlives the sign-in that opened it by more than that.
/// </summary>
internal static partial class LiveUpdateEndpoints
{
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan MaxStreamLifetime = TimeSpan.FromMinutes(5);

    public static IServiceCollection AddLiveUpdates(this IServiceCollection services)
    {
        services.AddSingleton<RequestChangeFeed>();
        services.AddSingleton<LiveTickets>();
        var inner = services.LastOrDefault(d => d.ServiceType == typeof(IRequestStore))
            ?? throw new InvalidOperationException("The store must be registered before live updates.");
        services.Replace(ServiceDescriptor.Singleton<IRequestStore>(sp => new ObservedRequestStore(
            (IRequestStore)(inner.ImplementationInstance ?? inner.ImplementationFactory?.Invoke(sp) ?? ActivatorUtilities.CreateInstance(sp, inner.ImplementationType!)),
            sp.GetRequiredService<RequestChangeFeed>())));
        return services;
    }

    public static IEndpointRouteBuilder MapLiveUpdates(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/console/events/ticket", (Func<HttpContext, Task<IResult>>)TicketAsync);
        endpoints.MapGet("/console/events", (Func<HttpContext, Task>)StreamAsync);
        return endpoints;
    }

    private static async Task<IResult> TicketAsync(HttpContext http)
    {
        if (await AccessRequestHandlers.AuthenticateAsync(http) is not { } caller)
        {
            return Problems.Unauthorized();
        }

        http.Response.Headers.CacheControl = "no-store";
        var ticket = http.RequestServices.GetRequiredService<LiveTickets>().Issue(caller.Email);
        return Results.Ok(new { ticket, expiresIn = (int)LiveTickets.Lifetime.TotalSeconds });
    }

    private static async Task StreamAsync(HttpContext http)
    {
        var ticket = http.Request.Query["ticket"].ToString();
        var email = ticket.Length is > 0 and <= 64 ? http.RequestServices.GetRequiredService<LiveTickets>().Redeem(ticket) : null;
        if (email is null)
        {
            await Problems.Unauthorized().ExecuteAsync(http);
            return;
        }

        var rules = http.RequestServices.GetRequiredService<AccessRules>();
        var feed = http.RequestServices.GetRequiredService<RequestChangeFeed>();
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(LiveUpdateEndpoints).FullName!);
        using var subscription = feed.Subscribe();

        // The stream ends when the page goes, when the server stops (shutdown must not wait for open streams) and
        // after its lifetime.
        var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        ends.CancelAfter(MaxStreamLifetime);

        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // a buffering reverse proxy would hold the events back
        LogStreamOpened(logger, email);
        try
        {
            await WriteAsync(response, $"retry: 2000\nevent: ready\ndata: {{\"version\":{feed.Version}}}\n\n", ends.Token);
            while (!ends.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ends.Token);
                wait.CancelAfter(KeepAlive);
                RequestChanged change;
                try
                {
                    change = await subscription.Changes.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!ends.IsCancellationRequested)
                {
                    await WriteAsync(response, ": keep-alive\n\n", ends.Token);
                    continue;
                }

                if (!AccessRequestHandlers.MayRead(rules, email, change.Request))
                {
                    continue;
                }

                var data = JsonSerializer.Serialize(new { version = change.Version, id = change.Request.Id, status = change.Request.Status.WireName() });
                await WriteAsync(response, $"event: change\ndata: {data}\n\n", ends.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away, the server is stopping, or the stream's lifetime is over: all normal ends.
        }
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Debug, Message = "Live update stream opened for {Caller}")]
    private static partial void LogStreamOpened(ILogger logger, string caller);
}
