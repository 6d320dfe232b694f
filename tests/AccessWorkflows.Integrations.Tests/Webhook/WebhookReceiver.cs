using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Integrations.Tests.Webhook;

/// <summary>
/// A receiving system on loopback, written the way docs/webhook.md tells integrators to: it verifies each event's
/// signature and timestamp itself (its own HMAC code, not the product's), refuses what fails with 401, keeps
/// accepted events in order, de-duplicates on the event id, and can be down (503) for its first attempts.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly string _secret;
    private LoopbackServer? _server;
    private int _downFor;

    private WebhookReceiver(string secret) => _secret = secret;

    public Uri Url => new(_server!.BaseAddress, "hooks/access");

    /// <summary>Verified events, in arrival order, one per distinct id.</summary>
    public ConcurrentQueue<JsonElement> Events { get; } = new();

    /// <summary>Raw bodies as verified, keyed by event id (the first one seen).</summary>
    public ConcurrentDictionary<string, string> Bodies { get; } = new();

    public int Attempts => _attempts;

    public int Duplicates => _duplicates;

    public int Rejected => _rejected;

    private int _attempts;
    private int _duplicates;
    private int _rejected;

    /// <summary>The next <paramref name="attempts"/> POSTs answer 503 (the receiver is down).</summary>
    public void DownFor(int attempts) => Interlocked.Exchange(ref _downFor, attempts);

    public static async Task<WebhookReceiver> StartAsync(string secret)
    {
        var receiver = new WebhookReceiver(secret);
        receiver._server = await LoopbackServer.StartAsync(app => app.MapPost("/hooks/access", receiver.ReceiveAsync));
        return receiver;
    }

    public IReadOnlyList<string> Types => [.. Events.Select(e => e.GetProperty("type").GetString()!)];

    private async Task ReceiveAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _attempts);
        if (Interlocked.Decrement(ref _downFor) >= 0)
        {
            ctx.Response.StatusCode = 503;
            return;
        }

        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        var timestamp = ctx.Request.Headers["X-AccessWorkflows-Timestamp"].ToString();
        var signature = ctx.Request.Headers["X-AccessWorkflows-Signature"].ToString();
        if (!IsAuthentic(timestamp, signature, body))
        {
            Interlocked.Increment(ref _rejected);
            ctx.Response.StatusCode = 401;
            return;
        }

        var e = JsonDocument.Parse(body).RootElement.Clone();
        var id = e.GetProperty("id").GetString()!;
        if (!Bodies.TryAdd(id, Encoding.UTF8.GetString(body)))
        {
            Interlocked.Increment(ref _duplicates);
        }
        else
        {
            Events.Enqueue(e);
        }

        ctx.Response.StatusCode = 204;
    }

    /// <summary>The integrator's check: HMAC-SHA256 over "{timestamp}.{body}", fresh within 5 minutes.</summary>
    public bool IsAuthentic(string timestamp, string signature, byte[] body)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) > 300
            || !signature.StartsWith("v1=", StringComparison.Ordinal))
        {
            return false;
        }

        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(_secret), signed);
        try
        {
            return CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(signature[3..]));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => _server?.DisposeAsync() ?? ValueTask.CompletedTask;
}
