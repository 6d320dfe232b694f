using System.Globalization;
using System.Net;
using System.Text;
using AccessWorkflows.Slack.Http;

namespace AccessWorkflows.Slack.Tests;

/// <summary>Hostile requests (SPEC 10, 12): each gets a clear 4xx, nothing behind the route runs, nothing is called.</summary>
public sealed class SlackVerificationTests : IAsyncLifetime
{
    private SlackTestHost _host = null!;

    public async Task InitializeAsync() => _host = await SlackTestHost.StartAsync(configure: o => o.MaxBodyBytes = 4096);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string> Routes => new() { "api/slack/commands", "api/slack/interactions", "api/slack/options" };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_correctly_signed_request_is_accepted(string route)
    {
        var response = await _host.PostSignedAsync(route, Body(route));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_stale_timestamp_is_refused_even_with_a_valid_signature(string route)
    {
        var response = await _host.PostSignedAsync(route, Body(route), DateTimeOffset.UtcNow.AddMinutes(-6));
        await AssertRefusedAsync(response);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_timestamp_from_the_future_is_refused(string route)
    {
        var response = await _host.PostSignedAsync(route, Body(route), DateTimeOffset.UtcNow.AddMinutes(6));
        await AssertRefusedAsync(response);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_tampered_body_is_refused(string route)
    {
        var body = Body(route);
        var tampered = body.Replace("U0ALICE", "U0CAROL", StringComparison.Ordinal);
        Assert.NotEqual(body, tampered);
        var response = await _host.PostSignedAsync(route, body, bodySent: tampered);
        await AssertRefusedAsync(response);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_request_signed_with_another_secret_is_refused(string route)
    {
        var response = await _host.PostSignedAsync(route, Body(route), secret: "not-the-signing-secret");
        await AssertRefusedAsync(response);
    }

    [Theory]
    [InlineData(null, "v0=00")]
    [InlineData("now", null)]
    [InlineData("now", "v0=zz-not-hex")]
    [InlineData("now", "v1=")]
    [InlineData("yesterday", "v0=00")]
    public async Task Missing_or_malformed_headers_are_refused(string? timestamp, string? signature)
    {
        var ts = timestamp == "now" ? DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) : timestamp;
        if (signature == "v1=" && ts is not null)
        {
            signature = "v1=" + SlackRequestVerifier.Sign(SlackTestHost.SigningSecret, ts, Encoding.UTF8.GetBytes(Body("api/slack/commands")))[3..];
        }

        var response = await _host.PostRawAsync("api/slack/commands", Body("api/slack/commands"), ts, signature);
        await AssertRefusedAsync(response);
    }

    [Fact]
    public async Task A_replayed_request_is_refused_once_its_timestamp_is_old()
    {
        var body = Body("api/slack/interactions");
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = SlackRequestVerifier.Sign(SlackTestHost.SigningSecret, ts, Encoding.UTF8.GetBytes(body));
        Assert.Equal(HttpStatusCode.OK, (await _host.PostRawAsync("api/slack/interactions", body, ts, signature)).StatusCode);
        await Eventually.Until(() => _host.Workflow.Log.Count == 1, "the original click reached the request service");

        _host.Time.Offset = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30);
        var replay = await _host.PostRawAsync("api/slack/interactions", body, ts, signature);

        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Single(_host.Workflow.Log);
    }

    [Fact]
    public async Task An_oversized_body_is_refused_before_it_is_parsed()
    {
        var body = Body("api/slack/interactions") + "&padding=" + new string('a', 5000);
        var response = await _host.PostSignedAsync("api/slack/interactions", body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        // Also when the client does not announce its length (chunked): the cap applies to what is read.
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_host.BaseAddress, "api/slack/interactions"))
        {
            Content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(body))),
        };
        request.Headers.Add("X-Slack-Request-Timestamp", ts);
        request.Headers.Add("X-Slack-Signature", SlackRequestVerifier.Sign(SlackTestHost.SigningSecret, ts, Encoding.UTF8.GetBytes(body)));
        request.Headers.TransferEncodingChunked = true;
        var chunked = await _host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);

        Assert.Empty(_host.Workflow.Log);
        Assert.Empty(_host.Slack.Calls);
    }

    private async Task AssertRefusedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        // Nothing was queued either: give a wrongly accepted request every chance to show up by sending a valid
        // one after it and waiting for that one to land first.
        Assert.Equal(HttpStatusCode.OK, (await _host.PostSignedAsync("api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.ApproverId, "trig-probe"))).StatusCode);
        await Eventually.Until(() => _host.Slack.CallsOf("views.open").Count == 1, "the valid probe was processed");
        Assert.Empty(_host.Workflow.Log);
        Assert.Equal(["users.info", "views.open"], _host.Slack.Calls.Select(c => c.Method));
        Assert.Equal("trig-probe", _host.Slack.CallsOf("views.open")[0].Args["trigger_id"]!.GetValue<string>());
    }

    private static string Body(string route) => route switch
    {
        "api/slack/commands" => SlackPayloads.SlashCommand(SlackTestHost.RequesterId, "trig-1"),
        "api/slack/options" => SlackTestHost.FormBody(("payload", SlackPayloads.BlockSuggestion(SlackTestHost.RequesterId, "policy", "", "111122223333").ToJsonString())),
        _ => SlackTestHost.FormBody(("payload", SlackPayloads.BlockActions(SlackTestHost.RequesterId, "C0APPROVE", "1.2", "approve", "req-1", "1700000000.000001").ToJsonString())),
    };

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
