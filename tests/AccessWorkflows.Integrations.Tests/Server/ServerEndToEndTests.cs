using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AccessWorkflows.Integrations.Tests.PagerDuty;
using AccessWorkflows.Integrations.Tests.Webhook;
using AccessWorkflows.Testing;
using AccessWorkflows.Webhook;

namespace AccessWorkflows.Integrations.Tests.Server;

/// <summary>
/// Through the real server (HTTP API, workflow, embedded engine, sandbox IAM) with AccessWorkflows:PagerDuty:* and
/// AccessWorkflows:Webhook:* pointed at the fakes: on-call auto-approval, and a request approved from the
/// receiving system over the signed webhook.
/// </summary>
public sealed class ServerEndToEndTests : IAsyncLifetime
{
    private const string Secret = "whsec-end-to-end-secret-0123456789";
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private FakePagerDuty _pd = null!;
    private WebhookReceiver _receiver = null!;
    private IntegrationServer _server = null!;
    private HttpClient _anonymous = null!;

    public async Task InitializeAsync()
    {
        _pd = await FakePagerDuty.StartAsync();
        _pd.Users.AddRange([new("PALICE1", "Alice", "alice@example.com"), new("PBOB001", "Bob", "bob@example.com")]);
        _pd.OnCalls.Add(new("PALICE1", "PSCHED1", "PPOL1", 1, _now.AddHours(-1), _now.AddHours(8)));
        _pd.OnCalls.Add(new("PBOB001", "PSCHED1", "PPOL1", 2, _now.AddHours(-1), _now.AddHours(8))); // second line only
        _pd.Users.AddRange([new("POSCAR1", "Oscar", "Oscar@Example.com"), new("PPAULA1", "Paula", "paula@example.com")]);
        _pd.OnCalls.Add(new("POSCAR1", null, "PESC123", 1, _now.AddHours(-1), _now.AddHours(8))); // first responder of the policy
        _pd.OnCalls.Add(new("PPAULA1", null, "PESC123", 2, _now.AddHours(-1), _now.AddHours(8))); // its second line
        _receiver = await WebhookReceiver.StartAsync(Secret);
        _server = new IntegrationServer(new Dictionary<string, string?>
        {
            ["AccessWorkflows:PagerDuty:ApiToken"] = FakePagerDuty.Token,
            ["AccessWorkflows:PagerDuty:ApiBaseUrl"] = _pd.BaseAddress.ToString(),
            ["AccessWorkflows:PagerDuty:RetryDelay"] = "00:00:00.050",
            ["AccessWorkflows:Webhook:Url"] = _receiver.Url.ToString(),
            ["AccessWorkflows:Webhook:Secret"] = Secret,
            ["AccessWorkflows:Webhook:DeliveryRetryDelay"] = "00:00:00.050",
        });
        _anonymous = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _anonymous.Dispose();
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
        await _pd.DisposeAsync();
    }

    private IEnumerable<JsonElement> EventsFor(string requestId)
        => _receiver.Events.Where(e => e.GetProperty("request").GetProperty("id").GetString() == requestId);

    private IReadOnlyList<string> TypesFor(string requestId) => [.. EventsFor(requestId).Select(e => e.GetProperty("type").GetString()!)];

    private Task<HttpResponseMessage> PostDecisionAsync(object decision, string secret = Secret, DateTimeOffset? at = null)
        => PostDecisionAsync(JsonSerializer.SerializeToUtf8Bytes(decision), secret, at);

    private async Task<HttpResponseMessage> PostDecisionAsync(byte[] body, string secret = Secret, DateTimeOffset? at = null)
    {
        var ts = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhook/decisions") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(WebhookSignature.TimestampHeader, ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, ts, body));
        return await _anonymous.SendAsync(request);
    }

    [Fact]
    public async Task A_requester_on_call_in_pagerduty_is_approved_for_at_most_the_on_call_duration_and_every_event_reaches_the_receiver()
    {
        var alice = _server.As("alice@example.com");

        var created = await IntegrationServer.CreateAsync(alice, duration: "PT30S");
        var id = created.GetProperty("id").GetString()!;
        var active = await IntegrationServer.WaitForStatusAsync(alice, id, "active");

        Assert.Equal("on call in schedule PSCHED1", active.GetProperty("approvedBy").GetString());
        Assert.Equal("PT4S", active.GetProperty("grantedDuration").GetString());
        var decision = Assert.Single(active.GetProperty("decisions").EnumerateArray());
        Assert.Equal("pagerduty", decision.GetProperty("channel").GetString());
        Assert.Contains(_pd.Requests, r => r.StartsWith("/oncalls", StringComparison.Ordinal));

        await IntegrationServer.WaitForStatusAsync(alice, id, "expired");
        await Eventually.Until(() => TypesFor(id).Contains("request.ended"), "the receiver gets request.ended");
        Assert.Equal(["request.created", "request.approved", "request.active"], TypesFor(id).Where(t => t is not ("request.expiring" or "request.ended")));
        Assert.Equal("request.ended", TypesFor(id)[^1]);
        Assert.Equal(0, _receiver.Rejected);
    }

    [Fact]
    public async Task A_webhook_decision_sent_right_after_creation_counts_and_one_after_the_outcome_is_409_naming_it()
    {
        var bob = _server.As("bob@example.com");
        var id = (await IntegrationServer.CreateAsync(bob)).GetProperty("id").GetString()!;

        // Before the workflow has asked PagerDuty, let alone notified level 1: decidable from the moment it is accepted.
        var approve = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "carol@example.com", duration = "PT20S" });
        Assert.Equal(HttpStatusCode.Accepted, approve.StatusCode);
        await IntegrationServer.WaitForStatusAsync(bob, id, "active");

        var deny = await PostDecisionAsync(new { requestId = id, decision = "deny", approver = "dave@example.com" });

        Assert.Equal(HttpStatusCode.Conflict, deny.StatusCode);
        Assert.Equal("application/problem+json", deny.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await deny.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("active", problem.GetProperty("requestStatus").GetString());
        var audit = JsonDocument.Parse(await _server.As("audit@example.com").GetStringAsync($"/api/requests/{id}/audit")).RootElement;
        var late = Assert.Single(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("type").GetString() == "decision.late");
        Assert.Equal(("dave@example.com", "webhook"), (late.GetProperty("actor").GetString(), late.GetProperty("channel").GetString()));
    }

    [Fact]
    public async Task A_request_approved_from_the_receiving_system_becomes_active_after_the_receiver_was_down()
    {
        _receiver.DownFor(4); // longer than the quick retries: the workflow's durable retry delivers the first event
        var bob = _server.As("bob@example.com");

        var created = await IntegrationServer.CreateAsync(bob);
        var id = created.GetProperty("id").GetString()!;
        await Eventually.Until(() => TypesFor(id).Contains("request.pending"), "the receiver is prompted");
        var pending = EventsFor(id).Single(e => e.GetProperty("type").GetString() == "request.pending");
        Assert.Equal(["carol@example.com", "dave@example.com"], pending.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()).Order());
        Assert.Equal(["request.created", "request.pending"], TypesFor(id));

        var response = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "carol@example.com", duration = "PT20S", comment = "approved in the ticket" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var active = await IntegrationServer.WaitForStatusAsync(bob, id, "active");
        var decision = Assert.Single(active.GetProperty("decisions").EnumerateArray());
        Assert.Equal("webhook", decision.GetProperty("channel").GetString());
        Assert.Equal("carol@example.com", decision.GetProperty("approver").GetString());
        Assert.Equal("PT20S", active.GetProperty("grantedDuration").GetString());
        await Eventually.Until(() => TypesFor(id).Contains("request.active"), "the receiver gets request.active");
        Assert.Equal(["request.created", "request.pending", "request.approved", "request.active"], TypesFor(id));
        Assert.Equal(0, _receiver.Rejected);
    }

    [Fact]
    public async Task PagerDuty_failing_sends_the_request_to_people_and_never_approves()
    {
        _pd.AlwaysFail = true;
        var alice = _server.As("alice@example.com");

        var created = await IntegrationServer.CreateAsync(alice);
        var id = created.GetProperty("id").GetString()!;
        var pending = await IntegrationServer.WaitForAsync(alice, id, r => r.GetProperty("approvalLevel").GetInt32() >= 1, "the request reaches its approvers");

        Assert.Equal("pending", pending.GetProperty("status").GetString());
        Assert.Empty(pending.GetProperty("decisions").EnumerateArray());
        Assert.True(_pd.Count("/users") >= 1, "PagerDuty was asked");
    }

    [Fact]
    public async Task Escalating_to_a_pagerduty_level_makes_its_on_call_responder_an_approver_recorded_in_the_request()
    {
        var zoe = _server.As("zoe@example.com");
        var id = await CreateS3Async(zoe);

        var escalated = await IntegrationServer.WaitForAsync(zoe, id, r => r.GetProperty("approvalLevel").GetInt32() == 2, "the request escalates to the PagerDuty level");
        Assert.Equal("pending", escalated.GetProperty("status").GetString());
        Assert.Contains(_pd.Requests, r => r.Contains("escalation_policy_ids%5B%5D=PESC123", StringComparison.Ordinal) && r.Contains("include%5B%5D=users", StringComparison.Ordinal));
        // The activity stores the change, then appends its audit event: wait for the event, not the view.
        await Eventually.Until(
            () => AuditItemsAsync(id),
            items => items.Any(e => e.GetProperty("type").GetString() == "request.pending" && e.GetProperty("detail").GetString() == "approval level 2 notified; on call in PagerDuty: oscar@example.com"),
            "the level-2 notification is audited with the responder PagerDuty named");
        await Eventually.Until(() => EventsFor(id).Any(e => e.GetProperty("type").GetString() == "request.pending" && e.GetProperty("level").GetInt32() == 2), "the receiver is prompted for level 2");
        var prompt = EventsFor(id).Single(e => e.GetProperty("type").GetString() == "request.pending" && e.GetProperty("level").GetInt32() == 2);
        Assert.Equal(["oscar@example.com"], prompt.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()));

        // The policy's second line is not an approver; its first responder is, and may read the request.
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("paula@example.com").PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.As("oscar@example.com").GetAsync($"/api/requests/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _server.As("oscar@example.com").PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve" })).StatusCode);

        var active = await IntegrationServer.WaitForStatusAsync(zoe, id, "active");
        Assert.Equal("oscar@example.com", active.GetProperty("approvedBy").GetString());
        Assert.Equal(2, Assert.Single(active.GetProperty("decisions").EnumerateArray()).GetProperty("level").GetInt32());
    }

    [Fact]
    public async Task A_pagerduty_level_whose_lookup_fails_names_nobody_and_the_earlier_level_still_decides()
    {
        _pd.AlwaysFail = true;
        var yan = _server.As("yan@example.com");
        var id = await CreateS3Async(yan);

        await IntegrationServer.WaitForAsync(yan, id, r => r.GetProperty("approvalLevel").GetInt32() == 2, "the request escalates to the PagerDuty level");
        var items = await Eventually.Until(
            () => AuditItemsAsync(id),
            all => all.Any(e => e.GetProperty("type").GetString() == "request.pending" && e.GetProperty("detail").GetString()!.StartsWith("approval level 2", StringComparison.Ordinal)),
            "the level-2 notification is audited");
        var pending = items.Single(e => e.GetProperty("type").GetString() == "request.pending" && e.GetProperty("detail").GetString()!.StartsWith("approval level 2", StringComparison.Ordinal));
        Assert.Contains("on call in PagerDuty: nobody (the PagerDuty lookup of PESC123 failed", pending.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("oscar@example.com").PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve" })).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await _server.As("carol@example.com").PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve" })).StatusCode);
        await IntegrationServer.WaitForStatusAsync(yan, id, "active");
    }

    private async Task<List<JsonElement>> AuditItemsAsync(string id) =>
        [.. JsonDocument.Parse(await _server.As("audit@example.com").GetStringAsync($"/api/requests/{id}/audit")).RootElement.GetProperty("items").EnumerateArray().Select(e => e.Clone())];

    private static async Task<string> CreateS3Async(HttpClient client)
    {
        var response = await client.PostAsJsonAsync("/api/requests", new
        {
            accountId = IntegrationServer.Account,
            access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" },
            reason = "incident 4712",
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task Hostile_webhook_decisions_are_refused_and_change_nothing()
    {
        var bob = _server.As("bob@example.com");
        var created = await IntegrationServer.CreateAsync(bob);
        var id = created.GetProperty("id").GetString()!;
        await IntegrationServer.WaitForAsync(bob, id, r => r.GetProperty("approvalLevel").GetInt32() >= 1, "the request reaches its approvers");

        var forgedRequester = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "bob@example.com" });
        var forgedStranger = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "mallory@example.com" });
        var laterLevel = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "erin@example.com" });
        var badSignature = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "carol@example.com" }, secret: "guessed-secret-guessed-secret");
        var stale = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "carol@example.com" }, at: DateTimeOffset.UtcNow.AddMinutes(-10));
        var oversized = await PostDecisionAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { requestId = id, decision = "approve", approver = "carol@example.com", comment = new string('a', 20_000) })));
        var tooLong = await PostDecisionAsync(new { requestId = id, decision = "approve", approver = "carol@example.com", duration = "PT2H" });

        Assert.Equal(HttpStatusCode.Forbidden, forgedRequester.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forgedStranger.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, laterLevel.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, badSignature.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversized.StatusCode);
        Assert.True(tooLong.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden, $"a duration past the maximum is refused, got {(int)tooLong.StatusCode}");
        foreach (var r in new[] { forgedRequester, forgedStranger, badSignature, stale, oversized })
        {
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        }

        var after = await IntegrationServer.GetAsync(bob, id);
        Assert.Equal("pending", after.GetProperty("status").GetString());
        Assert.Empty(after.GetProperty("decisions").EnumerateArray());
        var unknown = await PostDecisionAsync(new { requestId = "no-such-request", decision = "approve", approver = "carol@example.com" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
