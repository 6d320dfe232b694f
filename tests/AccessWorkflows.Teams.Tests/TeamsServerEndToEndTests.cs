using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Teams.Tests.Fakes;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// The real server (engine, SQLite store, request service, sandbox provisioner) with AccessWorkflows:Teams:* pointed
/// at the fake Bot Framework: an approver's Action.Execute click takes a request to active and the channel card ends
/// showing who approved and until when.
/// </summary>
public sealed class TeamsServerEndToEndTests : IAsyncLifetime
{
    private const string Channel = "19:approvers@thread.tacv2";
    private const string TeamId = "19:team-general@thread.tacv2";
    private FakeBotFrameworkAuth _auth = null!;
    private FakeBotConnector _connector = null!;
    private WebApplicationFactory<Program> _server = null!;
    private HttpClient _http = null!;

    private const string AlicesChat = "a:personal-29:alice";
    private const string PowerUser = "arn:aws:iam::aws:policy/PowerUserAccess";

    public async Task InitializeAsync()
    {
        _auth = await FakeBotFrameworkAuth.StartAsync();
        _connector = await FakeBotConnector.StartAsync();
        _server = Server(permitLimit: 1_000_000);
        _http = _server.CreateClient();

        _connector.AddMember("29:alice", "alice@example.com", "aad-alice");
        _connector.AddMember("29:carol", "carol@example.com", "aad-carol");
        _connector.TeamChannels[TeamId] = [TeamId, Channel];
        await SendOkAsync(Activities.TeamInstall(_connector.ServiceUrl, TeamId));
        await SendOkAsync(Activities.PersonalInstall(_connector.ServiceUrl, "29:alice", "aad-alice"));
        await SendOkAsync(Activities.PersonalInstall(_connector.ServiceUrl, "29:carol", "aad-carol"));
    }

    /// <summary>The real server against the fake Bot Framework. Grants of 30 minutes get their expiry reminder
    /// 10 seconds after they start.</summary>
    private WebApplicationFactory<Program> Server(int permitLimit)
    {
        var data = Path.Combine(Path.GetTempPath(), "aw-teams-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var settings = new Dictionary<string, string?>
        {
            ["AccessWorkflows:Workflow:ReminderLead"] = "00:29:50",
            ["AccessWorkflows:RateLimit:PermitLimit"] = permitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AccessWorkflows:RulesPath"] = Path.Combine(AppContext.BaseDirectory, "teams-rules.yaml"),
            ["AccessWorkflows:Sqlite:Path"] = Path.Combine(data, "accessworkflows.db"),
            ["AccessWorkflows:Durable:Path"] = Path.Combine(data, "durable.db"),
            ["AccessWorkflows:Auth:Mode"] = "Development",
            ["AccessWorkflows:Teams:AppId"] = FakeBotConnector.AppId,
            ["AccessWorkflows:Teams:AppPassword"] = FakeBotConnector.AppPassword,
            ["AccessWorkflows:Teams:TenantId"] = FakeBotConnector.TenantId,
            ["AccessWorkflows:Teams:OpenIdMetadataUrl"] = _auth.MetadataUrl,
            ["AccessWorkflows:Teams:LoginBaseUrl"] = _connector.LoginBaseUrl,
        };
        return new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Development");
            foreach (var (k, v) in settings)
            {
                b.UseSetting(k, v);
            }
        });
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await _connector.DisposeAsync();
        await _auth.DisposeAsync();
    }

    [Fact]
    public async Task Request_from_teams_approved_by_Action_Execute_becomes_active_and_the_channel_card_shows_who_and_until_when()
    {
        // Alice asks through the Teams form.
        await SendOkAsync(Activities.Message(_connector.ServiceUrl, "29:alice", "request", "a:personal-29:alice"));
        var (formId, _) = Assert.Single(_connector.MessagesIn("a:personal-29:alice"));
        var submitted = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:alice", "submitRequest", new JsonObject
        {
            ["accountId"] = "111122223333",
            ["accessType"] = "policy",
            ["policyArn"] = "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ["duration"] = "PT30M",
            ["reason"] = "INC-77 [see runbook](https://evil.example)",
        }, "a:personal-29:alice", formId, conversationType: "personal"));
        var requestId = TeamsApprovalFlowTests.Texts(submitted).Select(t => t.Split(' ')).Where(w => w.Length > 1 && w[0] == "Request").Select(w => w[1]).First();

        // The approval card reaches the rule's Teams channel.
        var (cardId, _) = await Eventually.Until(() => Task.FromResult(_connector.MessagesIn(Channel)), m => m.Count == 1, "the approval card is posted to the channel")
            .ContinueWith(t => t.Result[0]);

        // Alice may not approve her own request: the card tells her why and nothing changes.
        var self = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:alice", "approve", new JsonObject { ["requestId"] = requestId }, Channel, cardId));
        Assert.Contains(TeamsApprovalFlowTests.Texts(self), t => t.Contains("own request", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());

        // Carol approves for 15 minutes.
        var carol = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:carol", "approve", new JsonObject { ["requestId"] = requestId, ["duration"] = "PT15M", ["comment"] = "ok" }, Channel, cardId));
        Assert.Contains("Your approval was accepted.", TeamsApprovalFlowTests.Texts(carol));

        var active = await Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == "active", "the request becomes active");
        var decision = active["decisions"]!.AsArray().Single()!;
        Assert.Equal("carol@example.com", decision["approver"]!.GetValue<string>());
        Assert.Equal("teams", decision["channel"]!.GetValue<string>());
        var until = active["expiresAt"]!.GetValue<DateTimeOffset>().UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);

        var finalCard = await Eventually.Until(
            () => Task.FromResult(FakeBotConnector.Card(_connector.Versions(cardId)[^1])!),
            c => TeamsApprovalFlowTests.Texts(c).Any(t => t.StartsWith("Approved by carol@example.com, active until " + until, StringComparison.Ordinal)),
            "the channel card shows who approved and until when");
        Assert.Empty(TeamsApprovalFlowTests.Verbs(finalCard));
        Assert.Single(_connector.MessagesIn(Channel));
        foreach (var card in _connector.AllCards())
        {
            CardSchema.AssertValid(card);
        }

        // Alice gives it back from her card; the channel card follows.
        var relinquish = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:alice", "relinquish", new JsonObject { ["requestId"] = requestId }, "a:personal-29:alice", conversationType: "personal"));
        Assert.Contains("Access is being given back.", TeamsApprovalFlowTests.Texts(relinquish));
        await Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == "relinquished", "the request is relinquished");
        await Eventually.Until(
            () => Task.FromResult(FakeBotConnector.Card(_connector.Versions(cardId)[^1])!),
            c => TeamsApprovalFlowTests.Texts(c).Any(t => t.StartsWith("Relinquished by alice@example.com", StringComparison.Ordinal)),
            "the channel card shows the relinquish");
    }

    [Fact]
    public async Task The_invoke_answer_to_an_approval_is_the_request_after_the_decision_and_a_strangers_click_is_audited()
    {
        _connector.AddMember("29:mallory", "mallory@example.com", "aad-mallory");
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/requests")
        {
            Content = JsonContent.Create(new { accountId = "111122223333", access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }, reason = "INC-78" }),
        };
        create.Headers.Add("X-Dev-User", "alice@example.com");
        using var created = await _http.SendAsync(create);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, created.StatusCode);
        var requestId = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var (cardId, _) = await Eventually.Until(() => Task.FromResult(_connector.MessagesIn(Channel)), m => m.Count == 1, "the approval card is posted to the channel")
            .ContinueWith(t => t.Result[0]);

        // Mallory is no approver: told so at once; the refusal still reaches the audit log, written after the answer.
        var mallory = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:mallory", "approve", new JsonObject { ["requestId"] = requestId }, Channel, cardId));
        Assert.Contains(TeamsApprovalFlowTests.Texts(mallory), t => t.Contains("is not an approver", StringComparison.Ordinal));
        await Eventually.Until(
            () => GetAuditAsync(requestId),
            a => a.Any(e => e?["type"]?.GetValue<string>() == "decision.refused" && e["actor"]?.GetValue<string>() == "mallory@example.com"),
            "the stranger's click is in the audit log");

        // Carol's card shows her approval taken: approved, her decision listed, no buttons, not "waiting, 0 of 1".
        var carol = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:carol", "approve", new JsonObject { ["requestId"] = requestId, ["comment"] = "go ahead" }, Channel, cardId));
        var texts = TeamsApprovalFlowTests.Texts(carol);
        Assert.Contains("Your approval was accepted.", texts);
        Assert.Contains("Approved by carol@example.com: being provisioned", texts);
        Assert.Contains(texts, t => t.StartsWith("carol@example.com approved", StringComparison.Ordinal) && t.EndsWith(": go ahead", StringComparison.Ordinal));
        Assert.DoesNotContain(texts, t => t.StartsWith("Waiting for approval", StringComparison.Ordinal));
        Assert.DoesNotContain("0 of 1", carol.ToJsonString());
        Assert.Empty(TeamsApprovalFlowTests.Verbs(carol));
        CardSchema.AssertValid(carol);

        // And that is what the workflow then records.
        var active = await Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == "active", "the request becomes active");
        Assert.Equal("carol@example.com", active["decisions"]!.AsArray().Single()!["approver"]!.GetValue<string>());
    }

    [Fact]
    public async Task Strangers_clicks_in_flight_together_are_each_refused_and_each_audited_once_through_the_batched_writer()
    {
        _connector.AddMember("29:mallory", "mallory@example.com", "aad-mallory");
        var requestId = await CreateAsync("arn:aws:iam::aws:policy/ReadOnlyAccess", "PT30M");
        var (cardId, _) = await Eventually.Until(() => Task.FromResult(_connector.MessagesIn(Channel)), m => m.Count == 1, "the approval card is posted").ContinueWith(t => t.Result[0]);

        // 60 clicks, 12 at a time: more refusals than one batch picks up at once, from several queue workers.
        var clicks = Enumerable.Range(0, 60)
            .Select(_ => Activities.Execute(_connector.ServiceUrl, "29:mallory", "approve", new JsonObject { ["requestId"] = requestId }, Channel, cardId))
            .ToList();
        var expected = clicks.Select(c => $"{requestId}:refused:teams:{c["id"]!.GetValue<string>()}").ToHashSet();
        using var gate = new SemaphoreSlim(12);
        var answers = await Task.WhenAll(clicks.Select(async click =>
        {
            await gate.WaitAsync();
            try
            {
                return await InvokeAsync(click);
            }
            finally
            {
                gate.Release();
            }
        }));
        Assert.All(answers, a => Assert.Contains(TeamsApprovalFlowTests.Texts(a), t => t.Contains("is not an approver", StringComparison.Ordinal)));

        var audit = await Eventually.Until(
            () => GetAuditAsync(requestId),
            a => a.Count(e => e?["type"]?.GetValue<string>() == "decision.refused") >= expected.Count,
            "every stranger's click is in the audit log");
        var refused = audit.Where(e => e?["type"]?.GetValue<string>() == "decision.refused").ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), refused.Select(e => e!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(refused, e => Assert.Equal("mallory@example.com", e!["actor"]!.GetValue<string>()));
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_reminders_Extend_asks_for_the_requester_an_approver_approves_it_on_the_channel_card_and_the_cards_show_the_new_expiry()
    {
        var requestId = await CreateAsync(PowerUser, "PT30M");
        var (cardId, _) = await Eventually.Until(() => Task.FromResult(_connector.MessagesIn(Channel)), m => m.Count == 1, "the approval card is posted").ContinueWith(t => t.Result[0]);
        await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:carol", "approve", new JsonObject { ["requestId"] = requestId }, Channel, cardId));
        var active = await Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == "active", "the request becomes active");
        var firstExpiry = active["expiresAt"]!.GetValue<DateTimeOffset>();

        var (reminderId, reminder) = await Eventually.Until(
            () => Task.FromResult(_connector.MessagesIn(AlicesChat).FirstOrDefault(m => TeamsApprovalFlowTests.Texts(FakeBotConnector.Card(m.Latest)!).Contains("Your access ends soon"))),
            m => m.Id is not null,
            "the expiry reminder reaches alice");
        Assert.Contains("extend", TeamsApprovalFlowTests.Verbs(FakeBotConnector.Card(reminder)!));

        // Only the requester extends: carol's click on the same data is refused and changes nothing.
        var byCarol = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:carol", "extend", new JsonObject { ["requestId"] = requestId }, "a:personal-29:carol", conversationType: "personal"));
        Assert.Contains(TeamsApprovalFlowTests.Texts(byCarol), t => t.Contains("Only the requester", StringComparison.Ordinal));

        var asked = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:alice", "extend", new JsonObject { ["requestId"] = requestId }, AlicesChat, reminderId, conversationType: "personal"));
        Assert.Contains(TeamsApprovalFlowTests.Texts(asked), t => t.StartsWith("Extension asked", StringComparison.Ordinal));
        var channelCard = await Eventually.Until(
            () => Task.FromResult(FakeBotConnector.Card(_connector.Versions(cardId)[^1])!),
            c => TeamsApprovalFlowTests.Verbs(c).Contains("approveExtension"),
            "the channel card asks the approvers about the extension");
        Assert.Contains(TeamsApprovalFlowTests.Texts(channelCard), t => t.StartsWith("Extension asked by alice@example.com: 15m more", StringComparison.Ordinal));
        CardSchema.AssertValid(channelCard);
        Assert.Equal(firstExpiry, (await GetAsync(requestId))["expiresAt"]!.GetValue<DateTimeOffset>());

        var approved = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:carol", "approveExtension", new JsonObject { ["requestId"] = requestId }, Channel, cardId));
        Assert.Contains("Extension approved.", TeamsApprovalFlowTests.Texts(approved));
        var newExpiry = firstExpiry.AddMinutes(15);
        await Eventually.Until(() => GetAsync(requestId), r => r["expiresAt"]!.GetValue<DateTimeOffset>() == newExpiry, "the extension applies");

        var until = newExpiry.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await Eventually.Until(
            () => Task.FromResult(FakeBotConnector.Card(_connector.Versions(cardId)[^1])!),
            c => TeamsApprovalFlowTests.Texts(c).Any(t => t == $"Approved by carol@example.com, active until {until} UTC") && !TeamsApprovalFlowTests.Verbs(c).Contains("approveExtension"),
            "the channel card shows the new expiry in place");
        await Eventually.Until(
            () => Task.FromResult(_connector.MessagesIn(AlicesChat).Select(m => FakeBotConnector.Card(m.Latest)!).ToList()),
            cards => cards.Any(c => TeamsApprovalFlowTests.Texts(c).Any(t => t.StartsWith($"Active until {until} UTC", StringComparison.Ordinal))),
            "alice's card shows the new expiry in place");
        foreach (var card in _connector.AllCards())
        {
            CardSchema.AssertValid(card);
        }
    }

    [Fact]
    public async Task The_requesters_Cancel_on_their_card_cancels_and_the_channel_card_shows_it()
    {
        var requestId = await CreateAsync("arn:aws:iam::aws:policy/ReadOnlyAccess", "PT30M");
        var (cardId, _) = await Eventually.Until(() => Task.FromResult(_connector.MessagesIn(Channel)), m => m.Count == 1, "the approval card is posted").ContinueWith(t => t.Result[0]);
        var (myCardId, _) = await Eventually.Until(
            () => Task.FromResult(_connector.MessagesIn(AlicesChat).FirstOrDefault(m => TeamsApprovalFlowTests.Verbs(FakeBotConnector.Card(m.Latest)!).Contains("cancel"))),
            m => m.Id is not null,
            "alice's card offers Cancel");

        var byCarol = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:carol", "cancel", new JsonObject { ["requestId"] = requestId }, "a:personal-29:carol", conversationType: "personal"));
        Assert.Contains(TeamsApprovalFlowTests.Texts(byCarol), t => t.Contains("Only the requester", StringComparison.Ordinal));
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());

        var cancel = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:alice", "cancel", new JsonObject { ["requestId"] = requestId }, AlicesChat, myCardId, conversationType: "personal"));
        Assert.DoesNotContain("cancel", TeamsApprovalFlowTests.Verbs(cancel));
        var cancelled = await Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == "cancelled", "the request is cancelled");
        Assert.Equal("alice@example.com", cancelled["endedBy"]!.GetValue<string>());
        var channelCard = await Eventually.Until(
            () => Task.FromResult(FakeBotConnector.Card(_connector.Versions(cardId)[^1])!),
            c => TeamsApprovalFlowTests.Texts(c).Any(t => t.StartsWith("Cancelled by the requester", StringComparison.Ordinal)),
            "the channel card shows the cancel in place");
        Assert.Empty(TeamsApprovalFlowTests.Verbs(channelCard));
    }

    [Fact]
    public async Task A_teams_user_over_the_rate_limit_gets_429_with_Retry_After_and_others_do_not()
    {
        await using var limited = Server(permitLimit: 2);
        using var http = limited.CreateClient();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
        {
            last = await SendAsync(http, Activities.Message(_connector.ServiceUrl, "29:alice", "help", AlicesChat));
        }

        Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, last!.StatusCode);
        Assert.Equal("application/problem+json", last.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(last.Headers.RetryAfter?.Delta);
        using var carol = await SendAsync(http, Activities.Message(_connector.ServiceUrl, "29:carol", "help", "a:personal-29:carol"));
        Assert.Equal(System.Net.HttpStatusCode.OK, carol.StatusCode);
    }

    private async Task<string> CreateAsync(string policyArn, string duration)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/requests")
        {
            Content = JsonContent.Create(new { accountId = "111122223333", access = new { type = "policy", policyArn }, duration, reason = "INC-79" }),
        };
        create.Headers.Add("X-Dev-User", "alice@example.com");
        using var created = await _http.SendAsync(create);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, created.StatusCode);
        return JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task The_requesters_own_click_with_a_comment_breaks_the_glass_and_the_approvers_are_alerted_in_the_channel_and_their_chat()
    {
        _connector.AddMember("29:bob", "bob@example.com", "aad-bob");
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/requests")
        {
            Content = JsonContent.Create(new { accountId = "111122223333", access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" }, reason = "INC-80" }),
        };
        create.Headers.Add("X-Dev-User", "bob@example.com");
        using var created = await _http.SendAsync(create);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, created.StatusCode);
        var requestId = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var (cardId, _) = await Eventually.Until(() => Task.FromResult(_connector.MessagesIn(Channel)), m => m.Count == 1, "the approval card is posted to the channel")
            .ContinueWith(t => t.Result[0]);

        var bare = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:bob", "approve", new JsonObject { ["requestId"] = requestId }, Channel, cardId));
        Assert.Contains(TeamsApprovalFlowTests.Texts(bare), t => t.Contains("needs a comment", StringComparison.Ordinal));
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());

        var broken = await InvokeAsync(Activities.Execute(_connector.ServiceUrl, "29:bob", "approve", new JsonObject { ["requestId"] = requestId, ["comment"] = "S3 outage, INC-80" }, Channel, cardId));
        Assert.Contains("Your approval was accepted.", TeamsApprovalFlowTests.Texts(broken));

        var active = await Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == "active", "the request becomes active");
        Assert.True(active["breakGlass"]!.GetValue<bool>());
        Assert.Equal("PT10M", active["grantedDuration"]!.GetValue<string>());
        await Eventually.Until(
            () => Task.FromResult(_connector.MessagesIn(Channel).Select(m => FakeBotConnector.Card(m.Latest)!).ToList()),
            cards => cards.Any(c => TeamsApprovalFlowTests.Texts(c).Contains("Break-glass"))
                && cards.Any(c => TeamsApprovalFlowTests.Texts(c).Any(t => t.Contains("post-incident review pending", StringComparison.Ordinal))),
            "the channel gets the alert and the approval card its badge");
        await Eventually.Until(
            () => Task.FromResult(_connector.MessagesIn("a:personal-29:carol")),
            m => m.Any(x => TeamsApprovalFlowTests.Texts(FakeBotConnector.Card(x.Latest)!).Contains("Break-glass")),
            "carol is alerted in her chat");
        foreach (var card in _connector.AllCards())
        {
            CardSchema.AssertValid(card);
        }
    }

    private async Task<JsonArray> GetAuditAsync(string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/requests/{id}/audit");
        request.Headers.Add("X-Dev-User", "secops@example.com");
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        return body as JsonArray ?? body?["items"] as JsonArray ?? [];
    }

    private async Task<JsonObject> GetAsync(string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/requests/{id}");
        request.Headers.Add("X-Dev-User", "secops@example.com");
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private Task<HttpResponseMessage> SendAsync(JsonObject activity) => SendAsync(_http, activity);

    private async Task<HttpResponseMessage> SendAsync(HttpClient http, JsonObject activity)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/teams/messages")
        {
            Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _auth.Token(FakeBotConnector.AppId, _connector.ServiceUrl));
        return await http.SendAsync(request);
    }

    private async Task SendOkAsync(JsonObject activity)
    {
        using var response = await SendAsync(activity);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonObject> InvokeAsync(JsonObject activity)
    {
        using var response = await SendAsync(activity);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(200, body["statusCode"]!.GetValue<int>());
        return body["value"]!.AsObject();
    }
}
