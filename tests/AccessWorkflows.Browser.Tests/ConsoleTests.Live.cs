using System.Text;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccessWorkflows.Browser.Tests;

/// <summary>Live updates: server-sent events bring changes made elsewhere; polling takes over when the stream fails.</summary>
public sealed partial class ConsoleTests
{
    [Fact]
    public async Task A_change_made_through_the_API_appears_over_server_sent_events_without_a_reload_and_focus_stays()
    {
        await server.CreatePendingAsync("uma@example.com", reason: "stays pending");
        var id = await server.CreatePendingAsync("uma@example.com", reason: "approved elsewhere");
        var uma = await server.OpenAsync("uma@example.com");
        var staying = uma.Locator("#my-list .card").Filter(new() { HasText = "stays pending" });
        var details = staying.GetByRole(AriaRole.Link, new() { Name = "Details" });
        await details.FocusAsync();
        var version = await uma.EvaluateAsync<string?>("document.body.dataset.liveVersion");
        var navigations = 0;
        uma.FrameNavigated += (_, _) => Interlocked.Increment(ref navigations);

        using (var carol = server.Api("carol@example.com"))
        {
            (await carol.PostAsync($"/api/requests/{id}/decision", new StringContent("{\"decision\":\"approve\"}", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        await Expect(uma.Locator("#active-list .card").Filter(new() { HasText = "approved elsewhere" }).Locator(".badge")).ToHaveTextAsync("active");
        Assert.NotEqual(version, await uma.EvaluateAsync<string?>("document.body.dataset.liveVersion")); // it came as an event
        await Expect(uma.Locator("body")).ToHaveAttributeAsync("data-live", "sse"); // and the page never fell back to polling
        await Expect(details).ToBeFocusedAsync();
        Assert.Equal(0, navigations);
    }

    [Fact]
    public async Task When_the_event_stream_cannot_open_the_page_polls_and_still_shows_changes()
    {
        var id = await server.CreatePendingAsync("vic@example.com", reason: "no stream here");
        var context = await server.Browser.NewContextAsync(new() { BaseURL = server.BaseAddress.ToString() });
        await context.RouteAsync("**/console/events?*", route => route.FulfillAsync(new() { Status = 503 }));
        var vic = await context.NewPageAsync();
        await vic.GotoAsync("/?as=vic%40example.com#mine");
        await Expect(vic.Locator("#my-list .card").Filter(new() { HasText = "no stream here" }).Locator(".badge")).ToHaveTextAsync("pending");
        await Expect(vic.Locator("body")).ToHaveAttributeAsync("data-live", "polling");

        using (var carol = server.Api("carol@example.com"))
        {
            (await carol.PostAsync($"/api/requests/{id}/decision", new StringContent("{\"decision\":\"deny\",\"comment\":\"not today\"}", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        await Expect(vic.Locator("#my-list .card").Filter(new() { HasText = "no stream here" }).Locator(".badge")).ToHaveTextAsync("denied");
        await Expect(vic.Locator("body")).ToHaveAttributeAsync("data-live", "polling");
        await context.CloseAsync();
    }
}
