using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace AccessWorkflows.Browser.Tests;

/// <summary>
/// The real server in <c>Jwt</c> mode against <see cref="OidcProviderFake"/>, with the page's client id configured,
/// and one Debian chromium. The server validates the fake's tokens with its ordinary Jwt validation (metadata, keys,
/// issuer, audience, lifetime).
/// </summary>
public sealed class JwtConsoleServer : IAsyncLifetime
{
    private WebApplication? _app;
    private IPlaywright? _playwright;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "aw-browser-tests", Guid.NewGuid().ToString("N"));

    public OidcProviderFake Provider { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Provider = await OidcProviderFake.StartAsync();
        (_app, BaseAddress) = await ConsoleServer.StartServerAsync(
            _data,
            "--AccessWorkflows:Auth:Mode", "Jwt",
            "--AccessWorkflows:Auth:Authority", Provider.Issuer,
            "--AccessWorkflows:Auth:Audience", OidcProviderFake.Audience,
            "--AccessWorkflows:Auth:RequireHttpsMetadata", "false",
            "--AccessWorkflows:Auth:ClientId", OidcProviderFake.ClientId,
            "--AccessWorkflows:Auth:Scopes", "openid email profile");
        Provider.RedirectUri = BaseAddress;
        (_playwright, Browser) = await ConsoleServer.LaunchChromiumAsync();
    }

    /// <summary>A fresh browser context (its own sessionStorage) on the page, not signed in.</summary>
    public async Task<IPage> OpenAsync(string view = "mine")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            TimezoneId = "Asia/Kolkata",
            Locale = "en-GB",
        });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/#" + view);
        return page;
    }

    /// <summary>The API as <paramref name="email"/>, with an access token from the provider.</summary>
    public HttpClient Api(string email)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Provider.AccessTokenFor(email));
        return client;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }
    }
}
