using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccessWorkflows.Browser.Tests;

/// <summary>The auditor's export of the whole audit log (GET /api/audit) from the page.</summary>
public sealed partial class ConsoleTests
{
    [Fact]
    public async Task An_auditor_exports_the_whole_audit_log_of_a_date_range_following_every_page_as_NDJSON_and_CSV()
    {
        var id = await server.CreatePendingAsync("olga@example.com", reason: "export me");
        using var api = server.Api("audit@example.com");
        var expected = (await api.GetFromJsonAsync<JsonElement>($"/api/requests/{id}/audit")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("id").GetString()!).ToList();
        Assert.NotEmpty(expected);

        var audit = await server.OpenAsync("audit@example.com", "all");

        // Small pages, so that the page must follow Link rel="next" to get everything: the first call is sent with a
        // page size of 1, and the server carries it into every next link.
        var calls = new List<string>();
        await audit.RouteAsync("**/api/audit?*", route =>
        {
            lock (calls)
            {
                calls.Add(route.Request.Url);
            }

            return route.ContinueAsync(new() { Url = route.Request.Url.Replace("pageSize=1000", "pageSize=1", StringComparison.Ordinal) });
        });

        var download = await audit.RunAndWaitForDownloadAsync(() => audit.GetByRole(AriaRole.Button, new() { Name = "Export audit as NDJSON" }).ClickAsync());
        var lines = (await File.ReadAllLinesAsync((await download.PathAsync())!)).ToList();
        Assert.True(calls.Count >= 2 && calls.Count == lines.Count, $"{calls.Count} calls for {lines.Count} events");
        Assert.Contains("continuationToken=", calls[^1]);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(events.Count, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count()); // no page twice
        Assert.All(expected, eventId => Assert.Contains(events, e => e.GetProperty("id").GetString() == eventId));
        Assert.All(events, e => Assert.Equal(3005, e.GetProperty("class_uid").GetInt32()));
        await Expect(audit.GetByRole(AriaRole.Status)).ToContainTextAsync($"Exported {lines.Count} audit events from");
        Assert.Matches(@"^accessworkflows-audit-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.ndjson$", download.SuggestedFilename);

        download = await audit.RunAndWaitForDownloadAsync(() => audit.GetByRole(AriaRole.Button, new() { Name = "Export audit as CSV" }).ClickAsync());
        var csv = (await File.ReadAllTextAsync((await download.PathAsync())!)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("at,id,type,requestId,accountId,actor,channel,status,detail", csv[0]);
        Assert.All(expected, eventId => Assert.Contains(csv, row => row.Contains($"\"{eventId}\"", StringComparison.Ordinal) && row.Contains($"\"{id}\"", StringComparison.Ordinal)));
        Assert.True(csv.Length - 1 >= lines.Count);

        // A range with nothing in it says so; a range that ends before it starts is refused before any call.
        await audit.GetByLabel("From", new() { Exact = true }).FillAsync("2020-01-01");
        await audit.GetByLabel("To", new() { Exact = true }).FillAsync("2020-01-02");
        await audit.GetByRole(AriaRole.Button, new() { Name = "Export audit as CSV" }).ClickAsync();
        await Expect(audit.GetByRole(AriaRole.Status)).ToHaveTextAsync("No audit event from 2020-01-01 to 2020-01-02: nothing to export.");
        var before = calls.Count;
        await audit.GetByLabel("From", new() { Exact = true }).FillAsync("2020-01-03");
        await audit.GetByRole(AriaRole.Button, new() { Name = "Export audit as CSV" }).ClickAsync();
        await Expect(audit.Locator("#exp-error")).ToHaveTextAsync("The last day comes before the first.");
        Assert.Equal(before, calls.Count);
    }
}
