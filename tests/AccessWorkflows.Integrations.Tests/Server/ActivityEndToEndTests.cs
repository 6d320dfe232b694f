using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Integrations.Tests.Webhook;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Integrations.Tests.Server;

/// <summary>
/// The record of what a grant was used for, through the real server with AccessWorkflows:Aws:ActivityDelay PT0S: after
/// the grant expires the workflow collects it (the sandbox account has no CloudTrail, so it is empty), serves it at
/// GET /api/requests/{id}/activity and sends the ended webhook event again carrying it.
/// </summary>
public sealed class ActivityEndToEndTests : IAsyncLifetime
{
    private const string Secret = "whsec-activity-secret-0123456789abc";
    private WebhookReceiver _receiver = null!;
    private IntegrationServer _server = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync(Secret);
        _server = new IntegrationServer(new Dictionary<string, string?>
        {
            ["AccessWorkflows:Webhook:Url"] = _receiver.Url.ToString(),
            ["AccessWorkflows:Webhook:Secret"] = Secret,
            ["AccessWorkflows:Webhook:DeliveryRetryDelay"] = "00:00:00.050",
            ["AccessWorkflows:Aws:ActivityDelay"] = "PT0S",
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task After_the_grant_ends_its_activity_is_served_and_the_ended_event_is_sent_again_with_it()
    {
        var alice = _server.As("alice@example.com");
        var id = (await IntegrationServer.CreateAsync(alice)).GetProperty("id").GetString()!;
        await IntegrationServer.WaitForAsync(alice, id, r => r.GetProperty("approvalLevel").GetInt32() >= 1, "the leads are asked");
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"/api/requests/{id}/activity")).StatusCode);
        var decision = await _server.As("carol@example.com").PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve", duration = "PT2S" });
        Assert.Equal(HttpStatusCode.Accepted, decision.StatusCode);

        var expired = await IntegrationServer.WaitForStatusAsync(alice, id, "expired");
        var response = await Eventually.Until(() => alice.GetAsync($"/api/requests/{id}/activity"), r => r.StatusCode == HttpStatusCode.OK, "the activity is collected");
        var activity = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, activity.GetProperty("total").GetInt32());
        Assert.Empty(activity.GetProperty("byEvent").EnumerateArray());
        Assert.Equal(expired.GetProperty("grantedAt").GetDateTimeOffset(), activity.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(expired.GetProperty("endedAt").GetDateTimeOffset(), activity.GetProperty("to").GetDateTimeOffset());
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("mallory@example.com").GetAsync($"/api/requests/{id}/activity")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().GetAsync($"/api/requests/{id}/activity")).StatusCode);

        var ended = await Eventually.Until(
            () => Task.FromResult(_receiver.Events.Where(e => e.GetProperty("request").GetProperty("id").GetString() == id && e.GetProperty("type").GetString() == "request.ended").ToList()),
            events => events.Count == 2,
            "the ended event is sent again with the activity");
        Assert.False(ended[0].GetProperty("request").TryGetProperty("activity", out _));
        Assert.Equal(0, ended[1].GetProperty("request").GetProperty("activity").GetProperty("total").GetInt32());
        Assert.NotEqual(ended[0].GetProperty("id").GetString(), ended[1].GetProperty("id").GetString());
    }
}
