using System.Net.Http.Json;
using AccessWorkflows.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccessWorkflows.Browser.Tests;

/// <summary>Extend on my active grants and Cancel on my pending requests, in the page (issue #15).</summary>
public sealed class LifecycleConsoleTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    [Fact]
    public async Task The_requester_cancels_a_pending_request_from_its_card()
    {
        var id = await server.CreatePendingAsync("dan@example.com", reason: "INC-8 cancel me");
        var dan = await server.OpenAsync("dan@example.com");
        var card = dan.Locator("#my-list .card").Filter(new() { HasText = "INC-8 cancel me" });
        await Expect(card.Locator(".badge")).ToHaveTextAsync("pending");

        // Nobody else is offered it: the approver's page has no Cancel on the same request.
        var carol = await server.OpenAsync("carol@example.com", "approvals");
        await Expect(carol.Locator("#waiting-list .card").Filter(new() { HasText = "INC-8 cancel me" })).ToBeVisibleAsync();
        await Expect(carol.GetByRole(AriaRole.Button, new() { Name = "Cancel request" })).ToHaveCountAsync(0);

        await card.GetByRole(AriaRole.Button, new() { Name = "Cancel request" }).ClickAsync();
        var dialog = dan.GetByRole(AriaRole.Dialog, new() { Name = "Cancel this request?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel request" }).ClickAsync();
        await Expect(card.Locator(".badge")).ToHaveTextAsync("cancelled");
        await Expect(card.GetByRole(AriaRole.Button, new() { Name = "Cancel request" })).ToBeHiddenAsync();

        using var api = server.Api("dan@example.com");
        Assert.Equal("cancelled", (await api.GetFromJsonAsync<ConsoleServer.RequestJson>($"/api/requests/{id}"))!.Status);
    }

    [Fact]
    public async Task The_requester_extends_an_active_grant_and_a_refusal_names_the_limit()
    {
        using var api = server.Api("eve@example.com");
        var created = await api.PostAsJsonAsync("/api/requests", new { accountId = "111122223333", access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/PowerUserAccess" } });
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<ConsoleServer.RequestJson>())!.Id;
        var active = await Eventually.Until(async () => (await api.GetFromJsonAsync<Grant>($"/api/requests/{id}"))!, r => r.Status == "active", "the pre-approved grant is active");

        var eve = await server.OpenAsync("eve@example.com");
        var card = eve.Locator("#active-list .card").Filter(new() { HasText = "PowerUserAccess" });
        await card.GetByRole(AriaRole.Button, new() { Name = "Extend" }).ClickAsync();
        var dialog = eve.GetByRole(AriaRole.Dialog, new() { Name = "Extend this access?" });
        await dialog.GetByLabel("How much longer (30m, 1h or PT1H)").FillAsync("5m");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Extend" }).ClickAsync();
        await Eventually.Until(async () => (await api.GetFromJsonAsync<Grant>($"/api/requests/{id}"))!, r => r.ExpiresAt == active.ExpiresAt!.Value.AddMinutes(5), "the extension applies");

        // The rule allows one extension: a second is refused and the page says why.
        await card.GetByRole(AriaRole.Button, new() { Name = "Extend" }).ClickAsync();
        await dialog.GetByLabel("How much longer (30m, 1h or PT1H)").FillAsync("1m");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Extend" }).ClickAsync();
        await Expect(eve.Locator("#alert")).ToContainTextAsync("maxExtensions");
    }

    private sealed record Grant(string Status, DateTimeOffset? ExpiresAt);
}
