using System.Net;
using System.Text;
using AccessWorkflows.Teams.Tests.Fakes;

namespace AccessWorkflows.Teams.Tests;

/// <summary>SPEC 10/12: an activity is trusted only with a valid Bot Framework token whose serviceurl claim matches it.</summary>
public sealed class TeamsAuthTests : IAsyncLifetime
{
    private TeamsHarness _h = null!;

    public async Task InitializeAsync() => _h = await TeamsHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private System.Text.Json.Nodes.JsonObject Install() => Activities.TeamInstall(_h.Connector.ServiceUrl, TeamsHarness.TeamId);

    private async Task AssertRefusedAsync(HttpStatusCode expected, string? token = null, bool noToken = false)
    {
        using var response = await _h.SendAsync(Install(), token, noToken);
        Assert.Equal(expected, response.StatusCode);
        Assert.Empty(_h.Conversations.Items);
        Assert.Empty(_h.Connector.Calls);
    }

    [Fact]
    public async Task Valid_activity_is_accepted_and_its_conversation_reference_stored()
    {
        _h.Connector.TeamChannels[TeamsHarness.TeamId] = [TeamsHarness.TeamId, TeamsHarness.ApproverChannel];
        using var response = await _h.SendAsync(Install());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("channel:" + TeamsHarness.TeamId, _h.Conversations.Items.Keys);
        Assert.Contains("channel:" + TeamsHarness.ApproverChannel, _h.Conversations.Items.Keys);
    }

    [Fact]
    public Task Missing_token_is_refused_with_401() => AssertRefusedAsync(HttpStatusCode.Unauthorized, noToken: true);

    [Fact]
    public Task Garbage_token_is_refused_with_401() => AssertRefusedAsync(HttpStatusCode.Unauthorized, "not.a.jwt");

    [Fact]
    public Task Expired_token_beyond_five_minutes_skew_is_refused() =>
        AssertRefusedAsync(HttpStatusCode.Unauthorized, _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, expires: DateTime.UtcNow.AddMinutes(-6)));

    [Fact]
    public async Task Token_expired_within_the_skew_is_accepted()
    {
        using var response = await _h.SendAsync(Install(), _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, expires: DateTime.UtcNow.AddMinutes(-3)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public Task Token_for_another_bot_is_refused() =>
        AssertRefusedAsync(HttpStatusCode.Unauthorized, _h.Auth.Token("some-other-bot", _h.Connector.ServiceUrl));

    [Fact]
    public Task Token_from_another_issuer_is_refused() =>
        AssertRefusedAsync(HttpStatusCode.Unauthorized, _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, issuer: "https://sts.windows.net/evil/"));

    [Fact]
    public async Task Token_signed_by_an_unpublished_key_is_refused_after_one_metadata_refresh()
    {
        var rogue = FakeBotFrameworkAuth.SigningKey.Create("rogue-key", "msteams");
        await AssertRefusedAsync(HttpStatusCode.Unauthorized, _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, key: rogue));
        Assert.Equal(2, _h.Auth.JwksFetches);
    }

    [Fact]
    public async Task Token_with_a_forged_signature_is_refused()
    {
        var token = _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl);
        var parts = token.Split('.');
        var forgedPayload = Convert.ToBase64String(Encoding.UTF8.GetBytes($$"""{"iss":"https://api.botframework.com","aud":"{{FakeBotConnector.AppId}}","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}},"serviceurl":"{{_h.Connector.ServiceUrl}}","x":"y"}"""))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await AssertRefusedAsync(HttpStatusCode.Unauthorized, $"{parts[0]}.{forgedPayload}.{parts[2]}");
    }

    [Fact]
    public async Task Rotated_key_is_picked_up_by_refreshing_the_metadata()
    {
        using (var first = await _h.SendAsync(Install()))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var rotated = _h.Auth.Publish(FakeBotFrameworkAuth.SigningKey.Create("key-2", "msteams"));
        using var response = await _h.SendAsync(Install(), _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, key: rotated));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, _h.Auth.JwksFetches);
    }

    [Fact]
    public Task ServiceUrl_other_than_the_tokens_claim_is_refused_with_403() =>
        AssertRefusedAsync(HttpStatusCode.Forbidden, _h.Auth.Token(FakeBotConnector.AppId, "https://attacker.example.com/teams"));

    [Fact]
    public Task Token_without_a_serviceurl_claim_is_refused_with_403() =>
        AssertRefusedAsync(HttpStatusCode.Forbidden, _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, withServiceUrl: false));

    [Fact]
    public async Task Key_not_endorsed_for_msteams_is_refused_with_403()
    {
        var skypeOnly = _h.Auth.Publish(FakeBotFrameworkAuth.SigningKey.Create("skype-key", "skype"));
        await AssertRefusedAsync(HttpStatusCode.Forbidden, _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, key: skypeOnly));
    }

    [Fact]
    public async Task Oversized_body_is_refused_with_413_before_parsing()
    {
        var activity = Install();
        activity["text"] = new string('x', 300 * 1024);
        using var response = await _h.SendAsync(activity);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(_h.Conversations.Items);
    }

    [Fact]
    public async Task Body_that_is_not_an_activity_is_refused_with_400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _h.MessagesUrl)
        {
            Content = new StringContent("{\"type\": [1,2", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl));
        using var client = new HttpClient();
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
