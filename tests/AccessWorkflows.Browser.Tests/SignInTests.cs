using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccessWorkflows.Browser.Tests;

/// <summary>
/// The page on a Jwt server: OpenID Connect authorization code flow with PKCE against a strict local provider; the
/// access token goes to the API as Bearer; expiry asks to sign in again; sign-out; refused exchanges are shown.
/// </summary>
public sealed class SignInTests(JwtConsoleServer server) : IClassFixture<JwtConsoleServer>
{
    private const string Pending = "accessworkflows.signin.pending";
    private const string Session = "accessworkflows.signin.session";

    [Fact]
    public async Task A_person_signs_in_with_the_code_flow_and_PKCE_sees_their_requests_and_signs_out()
    {
        using (var dana = server.Api("dana@example.com"))
        {
            var created = await dana.PostAsJsonAsync("/api/requests", new
            {
                accountId = "111122223333",
                access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess" },
                duration = "PT5M",
                reason = "signed in with OpenID Connect",
            });
            created.EnsureSuccessStatusCode();
        }

        var page = await server.OpenAsync("mine");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "My access" })).ToBeHiddenAsync();
        await ConsoleTests.AssertAccessibleAsync(page, "sign-in");

        var authorize = page.WaitForRequestAsync(r => r.Url.StartsWith(server.Provider.Issuer + "/authorize", StringComparison.Ordinal));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        var query = QueryHelpers.ParseQuery(new Uri((await authorize).Url).Query);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(OidcProviderFake.ClientId, query["client_id"]);
        Assert.Equal(server.BaseAddress.ToString(), query["redirect_uri"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(43, query["code_challenge"].ToString().Length);
        Assert.NotEqual(query["state"], query["nonce"]);

        // Both waits are armed before the login: the page asks for its requests right after the exchange, and a wait
        // armed after the exchange was seen can miss that request on a loaded machine.
        var exchanged = page.WaitForRequestAsync(r => r.Url == server.Provider.Issuer + "/token");
        var mine = page.WaitForRequestAsync(r => r.Url.Contains("/api/requests?mine=true", StringComparison.Ordinal));
        await LogInAtProviderAsync(page, "dana@example.com");
        var form = QueryHelpers.ParseQuery((await exchanged).PostData);
        Assert.Equal("authorization_code", form["grant_type"]);
        Assert.Equal(43, form["code_verifier"].ToString().Length);

        // Signed in: the page is dana's, her request shows, the URL no longer carries the code, and the API calls
        // carry her access token (no Development header).
        await Expect(page.Locator("#identity")).ToHaveTextAsync("dana@example.com");
        await Expect(page.Locator("#my-list .card").Filter(new() { HasText = "signed in with OpenID Connect" }).Locator(".badge")).ToHaveTextAsync("pending");
        await Expect(page).ToHaveURLAsync(server.BaseAddress + "#mine");
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-live", "sse"); // its ticket was got with the token
        var call = await mine;
        Assert.StartsWith("Bearer ey", await call.HeaderValueAsync("authorization"));
        Assert.Null(await call.HeaderValueAsync("x-dev-user"));
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{Pending}')"));
        Assert.Contains("accessToken", await page.EvaluateAsync<string>($"sessionStorage.getItem('{Session}')"));

        // A reload keeps the tab signed in without going back to the provider.
        var issued = server.Provider.TokensIssued;
        await page.ReloadAsync();
        await Expect(page.Locator("#identity")).ToHaveTextAsync("dana@example.com");
        Assert.Equal(issued, server.Provider.TokensIssued);

        // Sign-out forgets the tokens and ends the provider's session, then the page offers to sign in.
        var signOuts = server.Provider.SignOuts;
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true })).ToBeVisibleAsync();
        Assert.Equal(signOuts + 1, server.Provider.SignOuts);
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{Session}')"));
        await Expect(page.Locator("#identity")).ToBeEmptyAsync();
    }

    [Fact]
    public async Task An_expired_sign_in_asks_to_sign_in_again_and_stops_calling_the_API()
    {
        // Tests of a class run one at a time, so the shorter lifetime applies to this test's sign-ins only.
        server.Provider.AccessTokenLifetime = TimeSpan.FromMinutes(2);
        try
        {
            await SignInUntilExpiryAsync();
        }
        finally
        {
            server.Provider.AccessTokenLifetime = TimeSpan.FromMinutes(10);
        }
    }

    private async Task SignInUntilExpiryAsync()
    {
        var page = await server.OpenAsync();
        await page.Clock.InstallAsync();
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await LogInAtProviderAsync(page, "erin@example.com");
        await Expect(page.Locator("#identity")).ToHaveTextAsync("erin@example.com");

        var calls = new List<string>();
        page.Request += (_, r) =>
        {
            if (r.Url.Contains("/api/", StringComparison.Ordinal) || r.Url.Contains("/console/", StringComparison.Ordinal))
            {
                lock (calls)
                {
                    calls.Add(r.Url);
                }
            }
        };

        // The access token lives two minutes; three minutes later (on the page's clock) the page says so.
        await page.Clock.FastForwardAsync("03:00");
        await Expect(page.Locator("#signin-text")).ToContainTextAsync("Your sign-in expired at");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeHiddenAsync();
        lock (calls)
        {
            calls.Clear();
        }

        await page.Clock.RunForAsync(5000); // refresh ticks that would have called the API
        lock (calls)
        {
            Assert.Empty(calls);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await LogInAtProviderAsync(page, "erin@example.com");
        await Expect(page.Locator("#identity")).ToHaveTextAsync("erin@example.com");
        await Expect(page.Locator("#signin")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_wrong_code_verifier_a_replayed_code_and_a_forged_state_fail_visibly()
    {
        var tokenEndpoint = server.Provider.Issuer + "/token";

        // Someone who holds the code but not the verifier: the provider refuses and the page says why.
        var wrong = await server.OpenAsync();
        await wrong.RouteAsync(tokenEndpoint, route => route.ContinueAsync(new() { PostData = Replace(route.Request.PostData!, ("code_verifier", new string('A', 43))) }));
        await wrong.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await LogInAtProviderAsync(wrong, "frank@example.com");
        await Expect(wrong.Locator("#alert")).ToHaveTextAsync("Sign-in failed: the identity provider did not accept the code (invalid_grant: code_verifier does not match the code_challenge). Sign in again.");
        await Expect(wrong.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true })).ToBeVisibleAsync();
        await Expect(wrong.Locator("#identity")).ToBeEmptyAsync();

        // A code and its verifier that were already exchanged, sent again: refused, even with the right verifier.
        var first = await server.OpenAsync();
        string? used = null;
        first.Request += (_, r) => used = r.Url == tokenEndpoint ? r.PostData : used;
        await first.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await LogInAtProviderAsync(first, "frank@example.com");
        await Expect(first.Locator("#identity")).ToHaveTextAsync("frank@example.com");
        var usedForm = QueryHelpers.ParseQuery(used);

        var replay = await server.OpenAsync();
        await replay.RouteAsync(tokenEndpoint, route => route.ContinueAsync(new()
        {
            PostData = Replace(route.Request.PostData!, ("code", usedForm["code"]!), ("code_verifier", usedForm["code_verifier"]!)),
        }));
        await replay.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await LogInAtProviderAsync(replay, "mallory@example.com");
        await Expect(replay.Locator("#alert")).ToHaveTextAsync("Sign-in failed: the identity provider did not accept the code (invalid_grant: the code is unknown or was already used). Sign in again.");
        await Expect(replay.Locator("#identity")).ToBeEmptyAsync();
        Assert.Contains("invalid_grant: the code is unknown or was already used", server.Provider.Refusals);

        // An answer that no sign-in of this tab started (a forged or foreign state) is not exchanged at all.
        var refusals = server.Provider.Refusals.Count;
        var forged = await server.OpenAsync();
        await forged.GotoAsync("/?code=stolen-code&state=forged-state");
        await Expect(forged.Locator("#alert")).ToHaveTextAsync("Sign-in failed: this answer does not belong to a sign-in started from this tab (state mismatch). Sign in again.");
        Assert.Equal(server.BaseAddress.ToString(), forged.Url);
        Assert.Equal(refusals, server.Provider.Refusals.Count);
    }

    private static async Task LogInAtProviderAsync(IPage page, string email)
    {
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
    }

    private static byte[] Replace(string formBody, params (string Name, string Value)[] changes)
    {
        var form = QueryHelpers.ParseQuery(formBody).ToDictionary(p => p.Key, p => p.Value.ToString());
        foreach (var (name, value) in changes)
        {
            form[name] = value;
        }

        return Encoding.UTF8.GetBytes(QueryString.Create(form!).ToString().TrimStart('?'));
    }
}
