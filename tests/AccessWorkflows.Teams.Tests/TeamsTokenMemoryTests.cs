using System.Net;
using AccessWorkflows.Teams.Tests.Fakes;

namespace AccessWorkflows.Teams.Tests;

/// <summary>The bot remembers a token it validated (the channel service sends one token with many activities): what a
/// remembered token still may not do — outlive its expiry and the skew, or vouch for another service URL.</summary>
public sealed class TeamsTokenMemoryTests : IAsyncLifetime
{
    private readonly SteppedClock _clock = new(DateTimeOffset.UtcNow);
    private TeamsHarness _h = null!;

    public async Task InitializeAsync() => _h = await TeamsHarness.StartAsync(time: _clock);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private System.Text.Json.Nodes.JsonObject Install(string? serviceUrl = null) => Activities.TeamInstall(serviceUrl ?? _h.Connector.ServiceUrl, TeamsHarness.TeamId);

    [Fact]
    public async Task A_remembered_token_is_refused_once_it_expired_beyond_the_skew()
    {
        // Expired three minutes ago: within the five minutes of skew, so accepted and remembered.
        var token = _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl, expires: _clock.GetUtcNow().UtcDateTime.AddMinutes(-3));
        using (var first = await _h.SendAsync(Install(), token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        _clock.Advance(TimeSpan.FromMinutes(1)); // four minutes past its expiry: still within the skew
        using (var withinSkew = await _h.SendAsync(Install(), token))
        {
            Assert.Equal(HttpStatusCode.OK, withinSkew.StatusCode);
        }

        _clock.Advance(TimeSpan.FromMinutes(2)); // six minutes past it, though remembered less than five minutes ago
        using var late = await _h.SendAsync(Install(), token);
        Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
    }

    [Fact]
    public async Task A_remembered_token_vouches_only_for_the_service_url_it_names()
    {
        var token = _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl);
        using (var first = await _h.SendAsync(Install(), token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var calls = _h.Connector.Calls.Count;
        using var elsewhere = await _h.SendAsync(Install("https://attacker.example.com/teams/"), token);

        Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);
        Assert.Equal(calls, _h.Connector.Calls.Count);
    }

    [Fact]
    public async Task A_token_changed_by_one_byte_is_not_taken_for_the_remembered_one()
    {
        var token = _h.Auth.Token(FakeBotConnector.AppId, _h.Connector.ServiceUrl);
        using (var first = await _h.SendAsync(Install(), token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var last = token[^1] == 'A' ? 'B' : 'A';
        using var changed = await _h.SendAsync(Install(), token[..^1] + last);
        Assert.Equal(HttpStatusCode.Unauthorized, changed.StatusCode);
    }
}
