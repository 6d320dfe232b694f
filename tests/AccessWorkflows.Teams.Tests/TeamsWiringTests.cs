using System.Net;
using AccessWorkflows.Notifications;
using AccessWorkflows.Teams.Connector;
using AccessWorkflows.Testing;
using Azure.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Teams.Tests;

public sealed class TeamsWiringTests
{
    [Fact]
    public async Task Without_an_AppId_nothing_is_registered_and_the_route_answers_404()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>()).Build();
        IServiceProvider? services = null;
        await using var server = await LoopbackServer.StartAsync(
            app =>
            {
                services = app.Services;
                app.MapTeams();
            },
            s => s.AddTeams(configuration));
        Assert.Empty(services!.GetServices<INotificationChannel>());
        using var client = new HttpClient();
        using var response = await client.PostAsync(new Uri(server.BaseAddress, "api/teams/messages"), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public void AppId_without_a_way_to_get_outbound_tokens_fails_at_start_up()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AccessWorkflows:Teams:AppId"] = "x" }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTeams(configuration));
        Assert.Contains("ManagedIdentityClientId", error.Message);
    }

    [Fact]
    public async Task Managed_identity_tokens_are_cached_until_near_expiry()
    {
        var credential = new CountingCredential(TimeSpan.FromHours(1));
        var provider = new TokenCredentialBotTokenProvider(credential, NullLogger<TokenCredentialBotTokenProvider>.Instance);
        Assert.Equal("token-1", await provider.GetTokenAsync(default));
        Assert.Equal("token-1", await provider.GetTokenAsync(default));
        Assert.Equal([TeamsOptions.BotConnectorScope], credential.Scopes);

        provider.Invalidate();
        Assert.Equal("token-2", await provider.GetTokenAsync(default));

        var shortLived = new CountingCredential(TimeSpan.FromMinutes(2));
        var refreshing = new TokenCredentialBotTokenProvider(shortLived, NullLogger<TokenCredentialBotTokenProvider>.Instance);
        await refreshing.GetTokenAsync(default);
        await refreshing.GetTokenAsync(default);
        Assert.Equal(2, shortLived.Calls);
    }

    private sealed class CountingCredential(TimeSpan lifetime) : TokenCredential
    {
        public int Calls { get; private set; }

        public string[] Scopes { get; private set; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new NotSupportedException();

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Scopes = requestContext.Scopes;
            Calls++;
            return ValueTask.FromResult(new AccessToken($"token-{Calls}", DateTimeOffset.UtcNow + lifetime));
        }
    }
}
