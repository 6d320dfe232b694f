using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AccessWorkflows.Requests;
using AccessWorkflows.Testing;
using AccessWorkflows.Webhook;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Integrations.Tests.Webhook;

/// <summary><c>POST /api/webhook/decisions</c> through a minimal host that maps it with MapWebhook, over real HTTP.</summary>
public sealed class WebhookDecisionTests : IAsyncLifetime
{
    private const string Secret = "whsec-inbound-test-secret-0123456789";
    private readonly FakeCommands _commands = new();
    private LoopbackServer _host = null!;
    private HttpClient _http = null!;
    private AccessRequest _request = null!;

    public async Task InitializeAsync()
    {
        _request = _commands.Add(Samples.Request());
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:Webhook:Secret"] = Secret,
        }).Build();
        _host = await LoopbackServer.StartAsync(
            app => app.MapWebhook(),
            services =>
            {
                services.AddWebhook(configuration);
                services.AddSingleton<IAccessRequestCommands>(_commands);
            });
        _http = new HttpClient { BaseAddress = _host.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private static string Body(string requestId, string approver = "carol@example.com", string decision = "approve", string? duration = null, string? comment = null, string? id = null)
        => JsonSerializer.Serialize(new { requestId, decision, approver, duration, comment, id });

    private Task<HttpResponseMessage> PostAsync(string body, string secret = Secret, DateTimeOffset? at = null, bool chunked = false)
        => PostAsync(Encoding.UTF8.GetBytes(body), secret, at, chunked);

    private async Task<HttpResponseMessage> PostAsync(byte[] body, string secret = Secret, DateTimeOffset? at = null, bool chunked = false)
    {
        var ts = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        HttpContent content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/webhook/decisions") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;
        request.Headers.Add(WebhookSignature.TimestampHeader, ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, ts, body));
        return await _http.SendAsync(request);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_signed_decision_from_an_approver_is_accepted_and_reaches_the_commands_port()
    {
        var response = await PostAsync(Body(_request.Id, approver: "Carol@Example.com", duration: "PT30M", comment: "ok for the incident", id: "ticket-4711"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var call = Assert.Single(_commands.Calls);
        Assert.Equal((_request.Id, "carol@example.com", DecisionKind.Approve, (TimeSpan?)TimeSpan.FromMinutes(30), (string?)"ok for the incident", Channels.Webhook, "webhook:ticket-4711"), call);
        var decision = Assert.Single(_request.Decisions);
        Assert.Equal(Channels.Webhook, decision.Channel);
        using var accepted = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(_request.Id, accepted.RootElement.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task The_same_decision_resent_with_a_fresh_timestamp_counts_once()
    {
        var body = Body(_request.Id, decision: "deny", comment: "no");

        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(body, at: DateTimeOffset.UtcNow.AddSeconds(-30))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(body)).StatusCode);

        Assert.Equal(2, _commands.Calls.Count);
        Assert.Single(_commands.Calls.Select(c => c.DecisionId).Distinct());
        Assert.Single(_request.Decisions);
    }

    [Fact]
    public async Task A_bad_signature_is_refused_and_nothing_is_parsed_or_changed()
    {
        var response = await PostAsync(Body(_request.Id), secret: "not-the-shared-secret-at-all");

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(_commands.Calls);
        Assert.Empty(_request.Decisions);
    }

    [Fact]
    public async Task A_body_changed_after_signing_is_refused()
    {
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var signed = Encoding.UTF8.GetBytes(Body(_request.Id, approver: "carol@example.com"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/webhook/decisions")
        {
            Content = new StringContent(Body(_request.Id, approver: "dave@example.com"), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(WebhookSignature.TimestampHeader, ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(Secret, ts, signed));

        await AssertProblemAsync(await _http.SendAsync(request), HttpStatusCode.Unauthorized);
        Assert.Empty(_commands.Calls);
    }

    [Theory]
    [InlineData(-6 * 60)]
    [InlineData(6 * 60)]
    public async Task A_correctly_signed_decision_outside_the_five_minute_window_is_refused(int offsetSeconds)
    {
        var response = await PostAsync(Body(_request.Id), at: DateTimeOffset.UtcNow.AddSeconds(offsetSeconds));

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(_commands.Calls);
    }

    [Fact]
    public async Task A_decision_without_signature_headers_is_refused()
    {
        var response = await _http.PostAsync("api/webhook/decisions", new StringContent(Body(_request.Id), Encoding.UTF8, "application/json"));

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Empty(_commands.Calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_oversized_body_is_refused_before_it_is_parsed_even_when_signed(bool chunked)
    {
        var body = Body(_request.Id, comment: new string('x', 17 * 1024));

        var response = await PostAsync(body, chunked: chunked);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Empty(_commands.Calls);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("{\"requestId\":\"r1\",\"decision\":\"maybe\",\"approver\":\"carol@example.com\"}")]
    [InlineData("{\"requestId\":\"r1\",\"decision\":\"approve\",\"approver\":\"not an email\"}")]
    [InlineData("{\"requestId\":\"r1\",\"decision\":\"approve\",\"approver\":\"carol@example.com\",\"duration\":\"forever\"}")]
    [InlineData("{\"requestId\":\"../../etc\",\"decision\":\"approve\",\"approver\":\"carol@example.com\"}")]
    public async Task A_signed_but_malformed_decision_is_a_bad_request(string body)
    {
        var response = await PostAsync(body);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Empty(_commands.Calls);
    }

    [Fact]
    public async Task A_forged_approver_is_forbidden_and_nothing_changes()
    {
        var asRequester = await PostAsync(Body(_request.Id, approver: "alice@example.com"));
        var asStranger = await PostAsync(Body(_request.Id, approver: "mallory@example.com"));
        var asLevelNotYetNotified = await PostAsync(Body(_request.Id, approver: "erin@example.com"));

        await AssertProblemAsync(asRequester, HttpStatusCode.Forbidden);
        await AssertProblemAsync(asStranger, HttpStatusCode.Forbidden);
        await AssertProblemAsync(asLevelNotYetNotified, HttpStatusCode.Forbidden);
        Assert.Empty(_request.Decisions);
    }

    [Fact]
    public async Task Unknown_and_no_longer_pending_requests_map_to_404_and_409()
    {
        var done = _commands.Add(Samples.Request(RequestStatus.Active));

        await AssertProblemAsync(await PostAsync(Body("req-does-not-exist")), HttpStatusCode.NotFound);
        await AssertProblemAsync(await PostAsync(Body(done.Id)), HttpStatusCode.Conflict);
        await AssertProblemAsync(await PostAsync(Body(_request.Id, duration: "P2D")), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Without_a_secret_the_route_answers_not_found()
    {
        await using var host = await LoopbackServer.StartAsync(
            app => app.MapWebhook(),
            services => services.AddSingleton<IAccessRequestCommands>(_commands));
        using var http = new HttpClient { BaseAddress = host.BaseAddress };

        var response = await http.PostAsync("api/webhook/decisions", new StringContent(Body(_request.Id), Encoding.UTF8, "application/json"));

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Empty(_commands.Calls);
    }
}
