using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AccessWorkflows.Browser.Tests;

/// <summary>
/// The page at <c>/</c> in a real browser: a request's whole life as requester, approver, admin and auditor, the
/// defects of issue 14 as regressions, and an automated accessibility check (axe, WCAG 2.1 A and AA).
/// </summary>
public sealed partial class ConsoleTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private const string S3ReadOnly = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

    [Fact]
    public async Task A_break_glass_request_is_flagged_on_its_card_until_and_after_its_review()
    {
        var id = await server.CreatePendingAsync("bea@example.com", "arn:aws:iam::aws:policy/job-function/SupportUser", "INC-91 queue stuck");
        using (var bea = server.Api("bea@example.com"))
        {
            (await bea.PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve", comment = "INC-91: nobody answers" })).EnsureSuccessStatusCode();
        }

        var secops = await server.OpenAsync("secops@example.com", "all");
        var row = secops.Locator("#all-list .card").Filter(new() { HasText = "INC-91" });
        await Expect(row.Locator(".badge")).ToHaveTextAsync("active");
        await Expect(row.Locator(".flag.breakglass")).ToHaveTextAsync("break-glass, review pending");
        using (var carol = server.Api("carol@example.com"))
        {
            (await carol.PostAsJsonAsync($"/api/requests/{id}/review", new { comment = "confirmed in the incident channel" })).EnsureSuccessStatusCode();
        }

        await secops.ReloadAsync();
        await Expect(secops.Locator("#all-list .card").Filter(new() { HasText = "INC-91" }).Locator(".flag.breakglass")).ToHaveTextAsync("break-glass, reviewed by carol@example.com");
    }

    [Fact]
    public async Task A_request_lives_its_whole_life_in_the_page_as_requester_approver_admin_and_auditor()
    {
        // Requester: the form shows the rule's default and maximum before submit and takes a human duration.
        var alice = await server.OpenAsync("alice@example.com", "new");
        await alice.GetByLabel("Policy", new() { Exact = true }).FillAsync(S3ReadOnly);
        await Expect(alice.Locator("#f-rule")).ToContainTextAsync("Rule \"browser\": 2m if you leave this empty, at most 10m.");
        await alice.GetByLabel("Duration").FillAsync("3m");
        await alice.GetByRole(AriaRole.Button, new() { Name = "Request", Exact = true }).ClickAsync();
        await Expect(alice.Locator("#f-error")).ToHaveTextAsync("This rule requires a reason.");
        await alice.GetByLabel("Reason").FillAsync("INC-42: read the access logs");
        await alice.GetByRole(AriaRole.Button, new() { Name = "Request", Exact = true }).ClickAsync();
        await Expect(alice.GetByRole(AriaRole.Status)).ToContainTextAsync("Request sent: AmazonS3ReadOnlyAccess is pending.");
        var mine = alice.Locator("#my-list .card").Filter(new() { HasText = "AmazonS3ReadOnlyAccess" });
        await Expect(mine.Locator(".badge")).ToHaveTextAsync("pending");

        // Approver: deny needs a comment; approve with a shorter duration and a comment.
        var carol = await server.OpenAsync("carol@example.com", "approvals");
        var card = carol.Locator("#waiting-list .card").Filter(new() { HasText = "INC-42" });
        await Expect(card).ToContainTextAsync("level 1");
        await Expect(card).ToContainTextAsync("alice@example.com");
        await Expect(card).ToContainTextAsync("browser");
        await card.GetByRole(AriaRole.Button, new() { Name = "Deny" }).ClickAsync();
        await Expect(card.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Say why you deny it: the requester reads the comment.");
        await card.GetByLabel("Comment").FillAsync("one minute is enough");
        await card.GetByLabel("Grant for").FillAsync("1m");
        await card.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(card).ToHaveCountAsync(0);
        await Expect(carol.Locator("#decided-list .card").Filter(new() { HasText = "INC-42" })).ToBeVisibleAsync();

        // Requester: active with a live countdown and the expiry in local time with its date.
        await alice.GetByRole(AriaRole.Link, new() { Name = "My access" }).ClickAsync();
        var active = alice.Locator("#active-list .card").Filter(new() { HasText = "AmazonS3ReadOnlyAccess" });
        await Expect(active.Locator(".badge")).ToHaveTextAsync("active");
        await Expect(active.GetByRole(AriaRole.Timer)).ToHaveTextAsync(CountdownRegex());
        await Expect(active).ToContainTextAsync("1m (asked 3m)");
        await Expect(active).ToContainTextAsync(LocalDateRegex());

        // Admin: revoke, confirmed, with a required comment.
        var secops = await server.OpenAsync("secops@example.com", "all");
        var row = secops.Locator("#all-list .card").Filter(new() { HasText = "INC-42" });
        await Expect(row.Locator(".badge")).ToHaveTextAsync("active");
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        var dialog = secops.GetByRole(AriaRole.Dialog, new() { Name = "Revoke this access?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Revoke now" }).ClickAsync();
        await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync("A comment is required.");
        await dialog.GetByLabel("Why (recorded in the audit log)").FillAsync("left the incident");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Revoke now" }).ClickAsync();
        await Expect(row.Locator(".badge")).ToHaveTextAsync("revoked");
        await Expect(row).ToContainTextAsync("Ended");
        await Expect(row.GetByRole(AriaRole.Button, new() { Name = "Revoke" })).ToBeHiddenAsync();

        // The requester's page follows without a reload.
        await Expect(alice.Locator("#my-list .card").Filter(new() { HasText = "AmazonS3ReadOnlyAccess" }).Locator(".badge")).ToHaveTextAsync("revoked");

        // Auditor: reads everything, changes nothing, sees the audit timeline and exports it.
        var audit = await server.OpenAsync("audit@example.com", "all");
        var seen = audit.Locator("#all-list .card").Filter(new() { HasText = "INC-42" });
        await Expect(seen.Locator(".badge")).ToHaveTextAsync("revoked");
        await Expect(audit.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        await Expect(audit.GetByRole(AriaRole.Button, new() { Name = "Revoke" })).ToHaveCountAsync(0);
        await seen.GetByRole(AriaRole.Link, new() { Name = "Details" }).ClickAsync();
        var timeline = audit.Locator("#detail-timeline");
        await Expect(timeline).ToContainTextAsync("request.revoked by secops@example.com via api: left the incident");
        await Expect(timeline).ToContainTextAsync("carol@example.com");
        await Expect(timeline.Locator("li").First).ToContainTextAsync(LocalDateRegex());

        await audit.GetByRole(AriaRole.Link, new() { Name = "All requests" }).ClickAsync();
        var download = await audit.RunAndWaitForDownloadAsync(() => audit.GetByRole(AriaRole.Button, new() { Name = "Export audit as CSV" }).ClickAsync());
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.StartsWith("at,id,type,requestId,accountId,actor,channel,status,detail\r\n", csv);
        Assert.Contains(csv.Split("\r\n"), line => line.Contains("\"request.revoked\"", StringComparison.Ordinal)
            && line.EndsWith("\"secops@example.com\",\"api\",\"Success\",\"left the incident\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Relinquish_asks_first_and_going_back_keeps_the_access()
    {
        var id = await server.CreatePendingAsync("zoe@example.com", reason: "relinquish me");
        using (var carol = server.Api("carol@example.com"))
        {
            (await carol.PostAsync($"/api/requests/{id}/decision", JsonContent("{\"decision\":\"approve\"}"))).EnsureSuccessStatusCode();
        }

        var zoe = await server.OpenAsync("zoe@example.com");
        var active = zoe.Locator("#active-list .card").Filter(new() { HasText = "ReadOnlyAccess" });
        await active.GetByRole(AriaRole.Button, new() { Name = "Relinquish" }).ClickAsync();
        var dialog = zoe.GetByRole(AriaRole.Dialog, new() { Name = "Relinquish this access?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Go back" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();

        // Going back did nothing (the old page's Cancel still acted): the grant is active, focus is back on the button.
        await Expect(active.GetByRole(AriaRole.Button, new() { Name = "Relinquish" })).ToBeFocusedAsync();
        using (var api = server.Api("zoe@example.com"))
        {
            Assert.Contains("\"status\":\"active\"", await api.GetStringAsync($"/api/requests/{id}"));
        }

        await active.GetByRole(AriaRole.Button, new() { Name = "Relinquish" }).ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Relinquish now" }).ClickAsync();
        await Expect(zoe.Locator("#my-list .card").Filter(new() { HasText = "ReadOnlyAccess" }).Locator(".badge")).ToHaveTextAsync("relinquished");
        await Expect(zoe.Locator("#active-empty")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Refreshes_keep_focus_and_typed_text_and_only_approvers_are_offered_approve_and_deny()
    {
        await server.CreatePendingAsync("yann@example.com", reason: "focus check");
        var carol = await server.OpenAsync("carol@example.com", "approvals");
        var comment = carol.Locator("#waiting-list .card").Filter(new() { HasText = "focus check" }).GetByLabel("Comment");
        await comment.FillAsync("typing while the page refreshes");

        // Two more requests reach carol's inbox while she types (each refreshes it live); the same element still has
        // focus and the text.
        for (var i = 0; i < 2; i++)
        {
            var refreshed = carol.WaitForResponseAsync(r => r.Url.Contains("/console/inbox", StringComparison.Ordinal));
            await server.CreatePendingAsync("yann@example.com", reason: $"arrives while carol types {i}");
            await refreshed;
            await Expect(carol.Locator("#waiting-list .card").Filter(new() { HasText = $"arrives while carol types {i}" })).ToBeVisibleAsync();
        }

        await Expect(comment).ToBeFocusedAsync();
        await Expect(comment).ToHaveValueAsync("typing while the page refreshes");

        // Admins and auditors who are not approvers see the pending request but are offered no decision; the admin
        // gets no Revoke on a pending request either.
        foreach (var overseer in new[] { "secops@example.com", "audit@example.com" })
        {
            var page = await server.OpenAsync(overseer, "all");
            var card = page.Locator("#all-list .card").Filter(new() { HasText = "focus check" });
            await Expect(card.Locator(".badge")).ToHaveTextAsync("pending");
            await Expect(card.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Approvals" })).ToBeVisibleAsync();
        }
    }

    [Fact]
    public async Task A_non_admin_page_never_asks_for_admin_data_and_shows_clear_errors_and_empty_states()
    {
        var refused = new List<string>();
        var page = await server.OpenAsync("nobody@example.com");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                lock (refused)
                {
                    refused.Add($"{response.Status} {response.Url}");
                }
            }
        };
        await Expect(page.Locator("#active-empty")).ToHaveTextAsync("You hold no access right now. Request access.");
        await Expect(page.Locator("#my-empty")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "All requests" })).ToBeHiddenAsync();

        // A change of their own request refreshes their lists (live), and nothing of that asks for admin data.
        static bool Mine(string url) => url.Contains("/api/requests?mine=true", StringComparison.Ordinal);
        var refreshed = page.WaitForResponseAsync(r => Mine(r.Url));
        await server.CreatePendingAsync("nobody@example.com", reason: "my own change");
        await refreshed;
        await Expect(page.Locator("#my-list .card").Filter(new() { HasText = "my own change" })).ToBeVisibleAsync();
        lock (refused)
        {
            Assert.Empty(refused);
        }

        // An error without a body says what happened, not "null"; a server that cannot be reached says so, not
        // "Failed to fetch"; and the page recovers by itself. (Each change of nobody's requests makes the page read.)
        await page.RouteAsync(Mine, route => route.FulfillAsync(new() { Status = 502 }));
        await server.CreatePendingAsync("nobody@example.com", reason: "answered 502");
        await Expect(page.Locator("#alert")).ToContainTextAsync("The server answered 502");
        await page.UnrouteAllAsync();
        await page.RouteAsync(Mine, route => route.AbortAsync());
        await server.CreatePendingAsync("nobody@example.com", reason: "not reachable");
        await Expect(page.Locator("#alert")).ToHaveTextAsync("The server cannot be reached. Is it running? The page retries on its own.");
        await page.UnrouteAllAsync();
        await server.CreatePendingAsync("nobody@example.com", reason: "reachable again");
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Connected to the server again.");
    }

    [Theory]
    [InlineData(1280)]
    [InlineData(360)]
    public async Task Nothing_is_cut_off_from_desktop_down_to_360_px(int width)
    {
        await server.CreatePendingAsync("walt@example.com", reason: $"width {width}");
        var carol = await server.OpenAsync("carol@example.com", "approvals", width: width, height: 800);
        var card = carol.Locator("#waiting-list .card").Filter(new() { HasText = $"width {width}" });
        await Expect(card.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToBeVisibleAsync();

        Assert.True(await carol.EvaluateAsync<bool>("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), "the page scrolls sideways");
        foreach (var button in await card.GetByRole(AriaRole.Button).AllAsync())
        {
            var box = (await button.BoundingBoxAsync())!;
            Assert.True(box.X >= 0 && box.X + box.Width <= width, $"a button is cut off at {width} px");
            Assert.True(await button.EvaluateAsync<bool>("b => b.scrollWidth <= b.clientWidth"), $"a button's label is clipped at {width} px");
        }
    }

    [Fact]
    public async Task Every_view_passes_axe_for_WCAG_2_1_A_and_AA_and_the_controls_carry_their_names()
    {
        await server.CreatePendingAsync("xena@example.com", reason: "axe check");
        var carol = await server.OpenAsync("carol@example.com", "approvals");
        await Expect(carol.Locator("#waiting-list .card").Filter(new() { HasText = "axe check" })).ToBeVisibleAsync();
        await Expect(carol.GetByRole(AriaRole.Button, new() { Name = "Approve", Exact = true }).First).ToBeVisibleAsync();
        await Expect(carol.GetByRole(AriaRole.Button, new() { Name = "Deny", Exact = true }).First).ToBeVisibleAsync();
        await AssertAccessibleAsync(carol, "approvals");

        foreach (var view in new[] { "mine", "new" })
        {
            await carol.GotoAsync($"/?as=carol@example.com#{view}");
            await Expect(carol.Locator($"#view-{view}")).ToBeVisibleAsync();
            await AssertAccessibleAsync(carol, view);
        }

        var admin = await server.OpenAsync("secops@example.com", "all");
        await Expect(admin.Locator("#all-list .card").First).ToBeVisibleAsync();
        await AssertAccessibleAsync(admin, "all");

        // Keyboard only: the form is reachable and submits with Enter.
        var keyboard = await server.OpenAsync("kim@example.com", "new");
        await keyboard.GetByLabel("Policy", new() { Exact = true }).FocusAsync();
        await keyboard.Keyboard.TypeAsync("arn:aws:iam::aws:policy/ReadOnlyAccess");
        await keyboard.GetByLabel("Reason").FocusAsync();
        await keyboard.Keyboard.TypeAsync("keyboard only");
        await keyboard.GetByRole(AriaRole.Button, new() { Name = "Request", Exact = true }).FocusAsync();
        await keyboard.Keyboard.PressAsync("Enter");
        await Expect(keyboard.GetByRole(AriaRole.Status)).ToContainTextAsync("Request sent");
    }

    internal static async Task AssertAccessibleAsync(IPage page, string view)
    {
        var results = await page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        Assert.NotEmpty(results.Passes); // axe really ran its rules on this view
        var violations = results.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})").ToList();
        Assert.True(violations.Count == 0, $"axe on #{view}:\n{string.Join("\n", violations)}");
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    [GeneratedRegex(@"^(\d+m )?\d+s left$")]
    private static partial Regex CountdownRegex();

    // en-GB in Asia/Kolkata: "23 Nov 2026, 20:05:03 GMT+5:30" — a date, a time and the reader's offset.
    [GeneratedRegex(@"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}:\d{2} GMT\+5:30")]
    private static partial Regex LocalDateRegex();
}
