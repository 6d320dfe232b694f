using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Webhook;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Integrations.Tests.Webhook;

/// <summary>The outbound channel through its real entry point (AddWebhook + INotificationChannel) to a receiver
/// that verifies signatures independently.</summary>
public sealed class WebhookChannelTests : IAsyncLifetime
{
    private const string Secret = "whsec-outbound-test-secret-0123456789";
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync(Secret);

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private INotificationChannel Channel(string secret = Secret, IMessageRefStore? store = null, string? url = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:Webhook:Url"] = url ?? _receiver.Url.ToString(),
            ["AccessWorkflows:Webhook:Secret"] = secret,
            ["AccessWorkflows:Webhook:DeliveryRetryDelay"] = "00:00:00.050",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        if (store is not null)
        {
            services.AddSingleton(store);
        }

        services.AddWebhook(configuration);
        return Assert.Single(services.BuildServiceProvider().GetServices<INotificationChannel>(), c => c.Name == "webhook");
    }

    [Fact]
    public async Task Every_lifecycle_event_arrives_signed_with_its_type_in_order_after_the_receiver_was_down()
    {
        _receiver.DownFor(2); // the first delivery needs the in-process retries
        var channel = Channel();
        var happy = Samples.Request();
        var denied = Samples.Request();
        var timedOut = Samples.Request();
        var failed = Samples.Request(RequestStatus.Approved);
        var stuck = Samples.Request(RequestStatus.Active);
        var sent = new List<(Notification N, string Type)>
        {
            (Samples.Notification(happy, NotificationKind.Received), "request.created"),
            (Samples.Notification(happy, NotificationKind.ApprovalRequested, level: 1), "request.pending"),
            (Samples.Notification(happy, NotificationKind.DecisionRecorded, actor: "carol@example.com"), "request.decisionRecorded"),
            (Samples.Notification(happy, NotificationKind.Approved, actor: "carol@example.com"), "request.approved"),
            (Samples.Notification(happy, NotificationKind.Active), "request.active"),
            (Samples.Notification(happy, NotificationKind.ExpiryReminder), "request.expiring"),
            (Samples.Notification(happy, NotificationKind.Ended), "request.ended"),
            (Samples.Notification(happy, NotificationKind.ActivityCollected), "request.ended"), // again, with request.activity once collected
            (Samples.Notification(denied, NotificationKind.Denied, actor: "dave@example.com"), "request.denied"),
            (Samples.Notification(timedOut, NotificationKind.TimedOut), "request.timedOut"),
            (Samples.Notification(failed, NotificationKind.Failed), "request.failed"),
            (Samples.Notification(stuck, NotificationKind.RevokeFailing), "request.revokeFailing"),
            (Samples.Notification(stuck, NotificationKind.BreakGlass, actor: "ann@example.com"), "request.breakGlass"),
            (Samples.Notification(stuck, NotificationKind.BreakGlassUnreviewed), "request.breakGlassUnreviewed"),
            (Samples.Notification(stuck, NotificationKind.ExtensionRequested, actor: "alice@example.com"), "request.extensionRequested"),
            (Samples.Notification(stuck, NotificationKind.Extended, actor: "carol@example.com"), "request.extended"),
            (Samples.Notification(stuck, NotificationKind.ExtensionDenied, actor: "carol@example.com"), "request.extensionDenied"),
        };

        foreach (var (n, _) in sent)
        {
            await channel.DeliverAsync(n);
        }

        Assert.Equal(sent.Select(s => s.Type), _receiver.Types);
        Assert.Equal(sent.Select(s => WebhookEvents.EventId(s.N.Id)), _receiver.Events.Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(0, _receiver.Rejected);
        Assert.Equal(sent.Count + 2, _receiver.Attempts);
        Assert.Equal(Enum.GetValues<NotificationKind>().Length, sent.Select(s => s.N.Kind).Distinct().Count());
    }

    [Fact]
    public async Task A_receiver_down_longer_than_the_quick_retries_fails_the_delivery_and_gets_the_same_event_on_redelivery()
    {
        var channel = Channel();
        var notification = Samples.Notification(Samples.Request(), NotificationKind.Received);
        _receiver.DownFor(3);

        await Assert.ThrowsAsync<WebhookDeliveryException>(() => channel.DeliverAsync(notification));
        Assert.Equal(3, _receiver.Attempts);
        Assert.Empty(_receiver.Events);

        // The workflow's durable retry runs the activity again; then a re-run after success (at least once).
        await channel.DeliverAsync(notification);
        await channel.DeliverAsync(notification);

        var e = Assert.Single(_receiver.Events);
        Assert.Equal(WebhookEvents.EventId(notification.Id), e.GetProperty("id").GetString());
        Assert.Equal(1, _receiver.Duplicates); // same id, so the receiver recognised it
        Assert.Equal(0, _receiver.Rejected); // every attempt was signed afresh and verified
    }

    [Fact]
    public async Task A_delivery_store_prevents_sending_a_delivered_event_again()
    {
        var store = new MemoryDeliveries();
        var channel = Channel(store: store);
        var notification = Samples.Notification(Samples.Request(), NotificationKind.Received);

        await channel.DeliverAsync(notification);
        await channel.DeliverAsync(notification);

        Assert.Equal(1, _receiver.Attempts);
        Assert.Contains($"webhook:{notification.Id}", store.Done);
    }

    [Fact]
    public async Task A_receiver_refusing_the_signature_fails_the_delivery()
    {
        var channel = Channel(secret: "some-other-secret-that-is-long");

        await Assert.ThrowsAsync<WebhookDeliveryException>(() => channel.DeliverAsync(Samples.Notification(Samples.Request(), NotificationKind.Received)));

        Assert.Equal(1, _receiver.Rejected); // a 401 is not a blip: no quick retry
        Assert.Empty(_receiver.Events);
    }

    [Fact]
    public async Task A_pending_event_names_the_approvers_only_of_a_level_that_asked_for_the_webhook()
    {
        var channel = Channel();
        var request = Samples.Request(approvalLevel: 2);

        await channel.DeliverAsync(Samples.Notification(request, NotificationKind.ApprovalRequested, level: 1));
        await channel.DeliverAsync(Samples.Notification(request, NotificationKind.ApprovalRequested, level: 2));

        var events = _receiver.Events.ToList();
        Assert.Equal(1, events[0].GetProperty("level").GetInt32());
        Assert.Equal(["carol@example.com", "dave@example.com"], events[0].GetProperty("approvers").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(2, events[1].GetProperty("level").GetInt32());
        Assert.False(events[1].TryGetProperty("approvers", out _));
        // The rest of the plan (other levels' approvers, chat channels) is not the receiver's business.
        Assert.DoesNotContain("erin@example.com", string.Concat(_receiver.Bodies.Values), StringComparison.Ordinal);
        Assert.DoesNotContain("C0123ABCD", string.Concat(_receiver.Bodies.Values), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_event_carries_the_request_as_the_api_shows_it()
    {
        var channel = Channel();
        var request = Samples.Request(RequestStatus.Denied);
        request.EndedBy = "dave@example.com";
        var notification = Samples.Notification(request, NotificationKind.Denied, actor: "dave@example.com") with { Comment = "not during the freeze" };

        await channel.DeliverAsync(notification);

        var e = Assert.Single(_receiver.Events);
        Assert.Equal("request.denied", e.GetProperty("type").GetString());
        Assert.Equal(notification.At, e.GetProperty("occurredAt").GetDateTimeOffset());
        Assert.Equal("dave@example.com", e.GetProperty("actor").GetString());
        Assert.Equal("not during the freeze", e.GetProperty("comment").GetString());
        var r = e.GetProperty("request");
        Assert.Equal(request.Id, r.GetProperty("id").GetString());
        Assert.Equal("alice@example.com", r.GetProperty("requester").GetString());
        Assert.Equal("111122223333", r.GetProperty("accountId").GetString());
        Assert.Equal("policy", r.GetProperty("access").GetProperty("type").GetString());
        Assert.Equal("arn:aws:iam::aws:policy/ReadOnlyAccess", r.GetProperty("access").GetProperty("policyArn").GetString());
        Assert.Equal("PT1H", r.GetProperty("duration").GetString());
        Assert.Equal("denied", r.GetProperty("status").GetString());
        Assert.Equal("readonly", r.GetProperty("ruleName").GetString());
        Assert.Equal("investigate *incident* <!here>", r.GetProperty("reason").GetString());
        Assert.False(r.TryGetProperty("approval", out _));
    }

    [Fact]
    public void Without_a_url_no_channel_is_registered()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddWebhook(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:Webhook:Secret"] = Secret,
        }).Build());

        Assert.Empty(services.BuildServiceProvider().GetServices<INotificationChannel>());
    }

    [Fact]
    public void The_signature_is_the_documented_hmac_and_verifies_only_with_the_secret_within_the_window()
    {
        var body = "{\"requestId\":\"r1\"}"u8.ToArray();
        var now = DateTimeOffset.UtcNow;
        var ts = now.ToUnixTimeSeconds();
        var signature = WebhookSignature.Sign(Secret, ts, body);

        Assert.True(_receiver.IsAuthentic(ts.ToString(System.Globalization.CultureInfo.InvariantCulture), signature, body));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Secret, $"{ts}", signature, body, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Secret, $"{ts}", $"v1=00, {signature}", body, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.BadSignature, WebhookSignature.Verify("another-secret-entirely", $"{ts}", signature, body, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.BadSignature, WebhookSignature.Verify(Secret, $"{ts}", signature, "{\"requestId\":\"r2\"}"u8, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.BadSignature, WebhookSignature.Verify(Secret, $"{ts + 1}", signature, body, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.StaleTimestamp, WebhookSignature.Verify(Secret, $"{ts}", signature, body, now.AddMinutes(6), TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.MalformedTimestamp, WebhookSignature.Verify(Secret, "-5", signature, body, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(SignatureCheck.MissingHeaders, WebhookSignature.Verify(Secret, null, signature, body, now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void The_csharp_verification_in_the_integrator_docs_accepts_delivered_events_and_nothing_else()
    {
        var body = WebhookEvents.Serialize(WebhookEvents.From(Samples.Notification(Samples.Request(), NotificationKind.Received)));
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = WebhookSignature.Sign(Secret, long.Parse(ts, System.Globalization.CultureInfo.InvariantCulture), body);

        Assert.True(DocsIsAuthentic(Secret, ts, signature, body));
        Assert.True(DocsIsAuthentic(Secret, ts, "v1=00, " + signature, body));
        Assert.False(DocsIsAuthentic("another-secret-entirely", ts, signature, body));
        Assert.False(DocsIsAuthentic(Secret, ts, signature, [.. body, (byte)' ']));
    }

    // Verbatim from docs/webhook.md, so the page cannot drift from what the channel sends.
    private static bool DocsIsAuthentic(string secret, string timestamp, string signature, byte[] body)
    {
        if (!long.TryParse(timestamp, out var ts) || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - ts) > 300) return false;
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(timestamp + ".").Concat(body).ToArray());
        return signature.Split(',').Select(s => s.Trim()).Where(s => s.StartsWith("v1=") && s.Length == 67)
            .Any(s => CryptographicOperations.FixedTimeEquals(mac, Convert.FromHexString(s[3..])));
    }

    private sealed class MemoryDeliveries : IMessageRefStore
    {
        public ConcurrentDictionary<string, byte> DoneKeys { get; } = new();

        public IEnumerable<string> Done => DoneKeys.Keys;

        public Task SaveAsync(MessageRef messageRef, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<IReadOnlyList<MessageRef>> ListAsync(string requestId, string channel, CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<MessageRef>>([]);

        public Task<bool> IsDoneAsync(string deliveryKey, CancellationToken cancellationToken = default) => Task.FromResult(DoneKeys.ContainsKey(deliveryKey));

        public Task MarkDoneAsync(string deliveryKey, CancellationToken cancellationToken = default)
        {
            DoneKeys.TryAdd(deliveryKey, 0);
            return Task.CompletedTask;
        }
    }
}
