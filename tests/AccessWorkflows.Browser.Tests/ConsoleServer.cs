using System.Net.Http.Json;
using AccessWorkflows.Server.Hosting;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace AccessWorkflows.Browser.Tests;

/// <summary>
/// The real server on a loopback port (Kestrel, the page served from the project's wwwroot) and one Debian chromium
/// driven by Playwright, shared by the tests of a class. The browser is the machine's `chromium` package, started
/// through ExecutablePath: Playwright never downloads one here.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private WebApplication? _app;
    private IPlaywright? _playwright;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "aw-browser-tests", Guid.NewGuid().ToString("N"));

    public Uri BaseAddress { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The server's services: a test changes the sandbox account "by hand" through its store, as someone in the
    /// AWS console would, behind AccessWorkflows' back.</summary>
    public IServiceProvider Services => _app!.Services;

    public async Task InitializeAsync()
    {
        (_app, BaseAddress) = await StartServerAsync(_data, "--AccessWorkflows:Auth:Mode", "Development");
        (_playwright, Browser) = await LaunchChromiumAsync();
    }

    /// <summary>The real server on a free loopback port with the browser tests' rules, its data in <paramref name="data"/>,
    /// plus <paramref name="settings"/> (command-line configuration pairs).</summary>
    public static async Task<(WebApplication App, Uri BaseAddress)> StartServerAsync(string data, params string[] settings)
    {
        Directory.CreateDirectory(data);
        var app = AccessWorkflowsServer.Build(
        [
            "--environment", "Development",
            "--urls", "http://127.0.0.1:0",
            "--contentRoot", Path.Combine(Azurite.RepositoryRoot(), "src", "AccessWorkflows.Server"),
            "--AccessWorkflows:RulesPath", Path.Combine(AppContext.BaseDirectory, "browser-rules.yaml"),
            "--AccessWorkflows:Sqlite:Path", Path.Combine(data, "accessworkflows.db"),
            "--AccessWorkflows:Durable:Path", Path.Combine(data, "durable.db"),
            "--Logging:LogLevel:Default", "Warning",
            .. settings,
        ]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>Debian's chromium, headless, driven by Playwright (never a downloaded browser).</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchChromiumAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (apt-get install -y chromium); scripts/test.sh does it.");
        }

        var playwright = await Playwright.CreateAsync();
        return (playwright, await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true }));
    }

    /// <summary>A fresh browser context (its own storage) showing the page as <paramref name="email"/>.</summary>
    public async Task<IPage> OpenAsync(string email, string view = "mine", int width = 1280, int height = 900, string timeZone = "Asia/Kolkata", bool live = true)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            TimezoneId = timeZone,
            Locale = "en-GB",
        });
        var page = await context.NewPageAsync();
        await page.GotoAsync($"/?as={Uri.EscapeDataString(email)}#{view}");
        await Assertions.Expect(page.Locator("#identity")).ToContainTextAsync(email);
        if (live)
        {
            // The server-sent event stream is open: changes made from now on reach the page.
            await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-live", "sse");
        }

        return page;
    }

    /// <summary>The API as <paramref name="email"/>, to set up what a test is not about.</summary>
    public HttpClient Api(string email)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Add("X-Dev-User", email);
        return client;
    }

    /// <summary>Creates a request through the API and waits until its approvers were notified.</summary>
    public async Task<string> CreatePendingAsync(string requester, string policy = "arn:aws:iam::aws:policy/ReadOnlyAccess", string reason = "INC-7 read the logs")
    {
        using var client = Api(requester);
        var response = await client.PostAsJsonAsync("/api/requests", new { accountId = "111122223333", access = new { type = "policy", policyArn = policy }, duration = "PT5M", reason });
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<RequestJson>())!.Id;
        await Eventually.Until(async () => (await client.GetFromJsonAsync<RequestJson>($"/api/requests/{id}"))!, r => r.ApprovalLevel >= 1, $"request {id} reaches its approvers");
        return id;
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
    }

    public sealed record RequestJson(string Id, string Status, int ApprovalLevel);
}
