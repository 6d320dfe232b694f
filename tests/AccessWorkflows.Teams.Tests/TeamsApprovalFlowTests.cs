using System.Net;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Teams.Tests.Fakes;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Teams.Tests;

/// <summary>Approval cards through the real entry points: proactive posts, Action.Execute invokes, in-place updates.</summary>
public sealed class TeamsApprovalFlowTests : IAsyncLifetime
{
    private TeamsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await TeamsHarness.StartAsync();
        await _h.InstallEverywhereAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private string Url => _h.Connector.ServiceUrl;

    private (string Id, JsonObject Latest) ChannelCard() => Assert.Single(_h.Connector.MessagesIn(TeamsHarness.ApproverChannel));

    private static JsonObject CardOf(JsonObject activity) => FakeBotConnector.Card(activity)!;

    private static JsonObject InvokeCard(JsonObject response)
    {
        Assert.Equal(200, response["statusCode"]!.GetValue<int>());
        Assert.Equal("application/vnd.microsoft.card.adaptive", response["type"]!.GetValue<string>());
        return response["value"]!.AsObject();
    }

    private JsonObject Click(string userId, string verb, string requestId, string? messageId, string? duration = null, string? comment = null, JsonObject? extra = null)
    {
        var data = new JsonObject { ["requestId"] = requestId };
        if (duration is not null)
        {
            data["duration"] = duration;
        }

        if (comment is not null)
        {
            data["comment"] = comment;
        }

        foreach (var (k, v) in extra ?? [])
        {
            data[k] = v?.DeepClone();
        }

        return Activities.Execute(Url, userId, verb, data, TeamsHarness.ApproverChannel, messageId);
    }

    [Fact]
    public async Task Approver_click_takes_the_request_to_active_and_the_channel_card_shows_who_approved_and_until_when()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, posted) = ChannelCard();
        var pending = CardOf(posted);
        Assert.Contains(Texts(pending), t => t.StartsWith("Waiting for approval", StringComparison.Ordinal));
        Assert.Equal(["approve", "deny"], Verbs(pending));
        // The approvers Teams knows get their own view through refresh.
        Assert.Equal(["29:carol", "29:alice"], pending["refresh"]!["userIds"]!.AsArray().Select(n => n!.GetValue<string>()));

        var response = await _h.InvokeAsync(Click("29:carol", "approve", request.Id, cardId, duration: "PT1H", comment: "ok for the incident"));

        // The clicker's card is the request as their approval leaves it, not as it was read before.
        var clickerCard = InvokeCard(response);
        Assert.Contains("Your approval was accepted.", Texts(clickerCard));
        Assert.Contains("Approved by carol@example.com: being provisioned", Texts(clickerCard));
        Assert.Contains(Texts(clickerCard), t => t.StartsWith("carol@example.com approved for ", StringComparison.Ordinal) && t.EndsWith(": ok for the incident", StringComparison.Ordinal));
        Assert.Empty(Verbs(clickerCard));
        await Eventually.Until(() => _h.Workflow[request.Id]!.Status == RequestStatus.Active, "the request became active");
        var stored = _h.Workflow[request.Id]!;
        var decision = Assert.Single(stored.Decisions);
        Assert.Equal("carol@example.com", decision.Approver);
        Assert.Equal(Channels.Teams, decision.Channel);
        Assert.Equal(TimeSpan.FromHours(1), decision.Duration);

        // The card goes "being provisioned" then "active until": wait for the last state, not the first without buttons.
        var until = stored.ExpiresAt!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        var final = await Eventually.Until(
            () => Task.FromResult(CardOf(_h.Connector.Versions(cardId)[^1])),
            c => Texts(c).Any(t => t.Contains("Approved by carol@example.com, active until " + until, StringComparison.Ordinal)),
            "the channel card shows who approved and until when");
        Assert.Empty(Verbs(final));
    }

    [Fact]
    public async Task A_click_answered_as_accepted_that_the_command_then_refuses_refreshes_the_cards_and_tells_the_clicker()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();
        var versions = _h.Connector.Versions(cardId).Count;

        // Between the answer and the queued command another approver denies: the command then refuses as too late.
        _h.Workflow.Meanwhile = r => r.End(RequestStatus.Denied, DateTimeOffset.UtcNow, "dave@example.com", "not now");
        var answer = InvokeCard(await _h.InvokeAsync(Click("29:carol", "approve", request.Id, cardId)));
        Assert.Contains("Your approval was accepted.", Texts(answer));

        var told = await Eventually.Until(
            () => Task.FromResult(_h.Connector.MessagesIn("a:personal-29:carol")),
            m => m.Count == 1,
            "carol was told in her chat");
        Assert.Contains(Texts(CardOf(told[0].Latest)), t => t.Contains($"Your approval of request {request.Id} was not counted: The request is already denied (by dave@example.com)", StringComparison.Ordinal));
        var refreshed = await Eventually.Until(() => Task.FromResult(_h.Connector.Versions(cardId)), v => v.Count > versions, "the channel card was refreshed");
        Assert.Contains(Texts(CardOf(refreshed[^1])), t => t.StartsWith("Denied by dave@example.com", StringComparison.Ordinal));
        Assert.Empty(Verbs(CardOf(refreshed[^1])));
        Assert.Empty(_h.Workflow[request.Id]!.Decisions);
    }

    [Fact]
    public async Task Self_approval_is_refused_to_the_clicker_with_the_reason_and_changes_nothing()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();
        var versionsBefore = _h.Connector.Versions(cardId).Count;

        var card = InvokeCard(await _h.InvokeAsync(Click("29:alice", "approve", request.Id, cardId)));

        Assert.Contains("You cannot decide on your own request.", Texts(card));
        Assert.Empty(Verbs(card));
        Assert.Equal(RequestStatus.Pending, _h.Workflow[request.Id]!.Status);
        Assert.Empty(_h.Workflow[request.Id]!.Decisions);
        Assert.Equal(versionsBefore, _h.Connector.Versions(cardId).Count);
    }

    [Fact]
    public async Task Identity_comes_from_the_member_lookup_never_from_the_card_data()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();

        // Mallory is no approver; claiming to be carol in the data (and in the display name) changes nothing.
        var click = Click("29:mallory", "approve", request.Id, cardId, extra: new JsonObject { ["email"] = "carol@example.com", ["approver"] = "carol@example.com" });
        click["from"]!["name"] = "carol@example.com";
        var card = InvokeCard(await _h.InvokeAsync(click));

        Assert.Contains("mallory@example.com is not an approver of a level this request has been sent to.", Texts(card));
        Assert.Equal(RequestStatus.Pending, _h.Workflow[request.Id]!.Status);
        // A non-participant is shown no details of the request.
        Assert.DoesNotContain(Texts(card), t => t.Contains("debugging", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_member_is_told_so_and_nothing_is_decided()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var card = InvokeCard(await _h.InvokeAsync(Click("29:stranger", "approve", request.Id, null)));
        Assert.Contains(Texts(card), t => t.Contains("did not tell us your email", StringComparison.Ordinal));
        Assert.Empty(_h.Workflow[request.Id]!.Decisions);
    }

    [Fact]
    public async Task Duration_above_the_plan_maximum_is_never_offered_and_refused_when_forged()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, posted) = ChannelCard();
        var choices = CardOf(posted)["body"]!.AsArray().Single(e => e!["id"]?.GetValue<string>() == "duration")!["choices"]!.AsArray()
            .Select(c => AccessDuration.Parse(c!["value"]!.GetValue<string>())).ToList();
        Assert.NotEmpty(choices);
        Assert.All(choices, d => Assert.True(d <= TimeSpan.FromHours(8)));

        var card = InvokeCard(await _h.InvokeAsync(Click("29:carol", "approve", request.Id, cardId, duration: "P2D")));
        Assert.Contains("The duration P2D exceeds the rule's maximum of PT8H.", Texts(card));
        Assert.Equal(RequestStatus.Pending, _h.Workflow[request.Id]!.Status);
    }

    [Fact]
    public async Task Deny_updates_every_card_with_who_denied_and_the_comment()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();

        var clicker = InvokeCard(await _h.InvokeAsync(Click("29:carol", "deny", request.Id, cardId, comment: "use the read-only role")));
        Assert.Contains("Denied by carol@example.com", Texts(clicker));
        Assert.Contains("Your denial was accepted.", Texts(clicker));

        var final = await Eventually.Until(() => Task.FromResult(CardOf(_h.Connector.Versions(cardId)[^1])), c => Texts(c).Contains("Denied by carol@example.com"), "the channel card shows the denial");
        Assert.Contains("Denied by carol@example.com", Texts(final));
        Assert.Contains(Texts(final), t => t.Contains("use the read-only role", StringComparison.Ordinal));
        // The requester's card is updated on its own notification lane: wait for it rather than read it once.
        var requesterCards = await Eventually.Until(
            () => Task.FromResult(_h.Connector.MessagesIn("a:personal-29:alice").Select(m => CardOf(m.Latest)).ToList()),
            cards => cards.Count > 0 && cards.All(c => Texts(c).Contains("Denied by carol@example.com")),
            "the requester's card shows the denial");
        Assert.NotEmpty(requesterCards);
    }

    [Fact]
    public async Task Channel_card_is_replaced_in_place_on_every_state_change()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();
        await _h.InvokeAsync(Click("29:carol", "approve", request.Id, cardId));
        // The requester relinquishes from the card in their chat.
        await Eventually.Until(() => _h.Refs.All.Any(r => r.Kind == "requester-active"), "the requester got the active card");
        var activeCardId = _h.Refs.All.Single(r => r.Kind == "requester-active").MessageId;
        var relinquish = Activities.Execute(Url, "29:alice", "relinquish", new JsonObject { ["requestId"] = request.Id }, "a:personal-29:alice", activeCardId, conversationType: "personal");
        var relinquished = InvokeCard(await _h.InvokeAsync(relinquish));
        Assert.Contains("Access is being given back.", Texts(relinquished));

        var statuses = _h.Connector.Versions(cardId).Select(v => Texts(CardOf(v))[1]).ToList();
        Assert.Collection(
            statuses,
            s => Assert.StartsWith("Waiting for approval", s),
            s => Assert.StartsWith("Approved by carol@example.com: being provisioned", s),
            s => Assert.StartsWith("Approved by carol@example.com, active until", s),
            s => Assert.StartsWith("Relinquished by alice@example.com", s));
        // Still exactly one message in the channel: updates never post new ones.
        ChannelCard();
        Assert.Single(_h.Workflow.Relinquishes);
        Assert.Equal(RequestStatus.Relinquished, _h.Workflow[request.Id]!.Status);
        // The requester's active card lost its Relinquish button.
        Assert.Empty(Verbs(CardOf(_h.Connector.Versions(activeCardId)[^1])));
    }

    [Fact]
    public async Task Requester_gets_a_dm_with_expiry_and_relinquish_and_a_reminder()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();
        await _h.InvokeAsync(Click("29:carol", "approve", request.Id, cardId));
        await Eventually.Until(() => _h.Connector.MessagesIn("a:personal-29:alice").Count == 2, "the requester got the active card");
        await _h.Workflow.NotifyAsync(Notifications.NotificationKind.ExpiryReminder, _h.Workflow[request.Id]!);

        var dms = _h.Connector.MessagesIn("a:personal-29:alice").Select(m => CardOf(m.Latest)).ToList();
        Assert.Equal(3, dms.Count);
        Assert.Contains(dms, c => Verbs(c).SequenceEqual(["relinquish"]) && Texts(c).Any(t => t.StartsWith("Active until", StringComparison.Ordinal)));
        Assert.Contains(dms, c => Texts(c).Contains("Your access ends soon"));
    }

    [Fact]
    public async Task Break_glass_alerts_the_level_channel_the_extra_channel_and_each_approver_in_their_chat_and_badges_the_card()
    {
        var plan = FakeWorkflow.Plan with
        {
            BreakGlass = new BreakGlassPlan(TimeSpan.FromMinutes(30), null, TeamsHarness.ApproverChannel, ["carol@example.com", "mallory@example.com"]),
        };
        var request = await _h.Workflow.CreateAsync("alice@example.com", id: "req-bg", plan: plan);
        request.AddDecision(new DecisionRecord("bg", "alice@example.com", DecisionKind.Approve, TimeSpan.FromMinutes(30), "INC-9 payments down", Channels.Api, 0, DateTimeOffset.UtcNow));
        request.MarkBreakGlass();
        request.Approve(TimeSpan.FromMinutes(30), "alice@example.com");
        var alert = new Notifications.Notification { Id = "req-bg:alert", Kind = Notifications.NotificationKind.BreakGlass, Request = request, Actor = "alice@example.com", At = DateTimeOffset.UtcNow };

        await _h.Channel.DeliverAsync(alert);
        await _h.Channel.DeliverAsync(alert); // a retried activity sends nothing twice

        // The level's channel and the extra conversation are the same here: one alert card there, beside the approval card.
        var inChannel = _h.Connector.MessagesIn(TeamsHarness.ApproverChannel).Select(m => CardOf(m.Latest)).ToList();
        Assert.Equal(2, inChannel.Count);
        var alertCard = Assert.Single(inChannel, c => Texts(c).Contains("Break-glass"));
        Assert.Contains(Texts(alertCard), t => t.Contains("INC-9 payments down", StringComparison.Ordinal));
        Assert.Empty(Verbs(alertCard));
        Assert.Single(_h.Connector.MessagesIn("a:personal-29:carol"), m => Texts(CardOf(m.Latest)).Contains("Break-glass"));
        Assert.DoesNotContain(_h.Connector.MessagesIn("a:personal-29:alice"), m => Texts(CardOf(m.Latest)).Contains("Break-glass")); // mallory has no chat: skipped

        // The approval card shows the flag from its next update on.
        await _h.Workflow.NotifyAsync(Notifications.NotificationKind.Approved, request, "alice@example.com");
        var latest = _h.Connector.MessagesIn(TeamsHarness.ApproverChannel).Select(m => CardOf(m.Latest)).Single(c => !Texts(c).Contains("Break-glass"));
        Assert.Contains(Texts(latest), t => t.Contains("Break-glass: approved by the requester without approvers; post-incident review pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_card_of_a_staged_rule_shows_its_stage()
    {
        var plan = FakeWorkflow.Plan with
        {
            Levels = [.. FakeWorkflow.Plan.Levels, new ApprovalLevelPlan { Level = 2, Stage = 2, Approvers = ["mallory@example.com"], TeamsChannel = TeamsHarness.ApproverChannel }],
        };

        await _h.Workflow.CreateAsync("alice@example.com", id: "req-stages", plan: plan);

        var (_, card) = ChannelCard();
        Assert.Contains(Texts(CardOf(card)), t => t.StartsWith("Stage 1 of 2: waiting for approval (level 1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requester_without_a_personal_chat_gets_one_created()
    {
        _h.Connector.AddMember("29:dave", "dave@example.com", "aad-dave");
        // Dave is only known from a channel message, so the bot has no 1:1 chat with him yet.
        TeamsHarness.Ok(await _h.SendAsync(Activities.Message(Url, "29:dave", "hello", TeamsHarness.ApproverChannel, "channel")));

        await _h.Workflow.CreateAsync("dave@example.com", id: "req-dave");

        var created = Assert.Single(_h.Connector.CreatedConversations);
        Assert.Equal("29:dave", created.Value);
        Assert.Single(_h.Connector.MessagesIn(created.Key));
    }

    [Fact]
    public async Task Refresh_gives_approvers_buttons_and_the_requester_a_read_only_view()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();

        var carol = InvokeCard(await _h.InvokeAsync(Activities.Execute(Url, "29:carol", "refresh", new JsonObject { ["requestId"] = request.Id }, TeamsHarness.ApproverChannel, cardId, "automatic")));
        var alice = InvokeCard(await _h.InvokeAsync(Activities.Execute(Url, "29:alice", "refresh", new JsonObject { ["requestId"] = request.Id }, TeamsHarness.ApproverChannel, cardId, "automatic")));

        Assert.Equal(["approve", "deny"], Verbs(carol));
        Assert.Empty(Verbs(alice));
        Assert.Contains("alice@example.com", Texts(alice).Single(t => t.StartsWith("Waiting", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Action_Submit_fallback_decides_the_same_way_and_replies()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();

        var submit = Activities.Message(Url, "29:carol", string.Empty, TeamsHarness.ApproverChannel, "channel",
            value: new JsonObject { ["requestId"] = request.Id, ["verb"] = "approve", ["duration"] = "PT30M" }, replyToId: cardId);
        TeamsHarness.Ok(await _h.SendAsync(submit));

        await Eventually.Until(() => _h.Workflow[request.Id]!.Status == RequestStatus.Active, "the request became active");
        Assert.Equal(TimeSpan.FromMinutes(30), _h.Workflow[request.Id]!.GrantedDuration);
        var reply = _h.Connector.MessagesIn(TeamsHarness.ApproverChannel).Select(m => m.Latest).Single(m => m["replyToId"]?.GetValue<string>() == cardId);
        Assert.Contains("Your approval was accepted.", Texts(CardOf(reply)));
    }

    [Fact]
    public async Task Same_click_delivered_twice_counts_once()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var (cardId, _) = ChannelCard();
        var click = Click("29:carol", "approve", request.Id, cardId);
        await _h.InvokeAsync(click);
        await _h.InvokeAsync(click);
        Assert.Single(_h.Workflow[request.Id]!.Decisions);
    }

    [Fact]
    public async Task A_notification_delivered_twice_posts_once()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var notification = new Notifications.Notification { Id = "n-dup", Kind = Notifications.NotificationKind.ApprovalRequested, Request = request, Level = 1, At = DateTimeOffset.UtcNow };
        Assert.Equal("teams", _h.Channel.Name);
        await _h.Channel.DeliverAsync(notification);
        await _h.Channel.DeliverAsync(notification);
        Assert.Equal(2, _h.Connector.MessagesIn(TeamsHarness.ApproverChannel).Count);
    }

    [Fact]
    public async Task Throttled_connector_calls_are_retried_after_Retry_After()
    {
        _h.Connector.FailNext(2, 429, retryAfterSeconds: 1);
        _h.Connector.FailNext(1, 502);
        var request = await _h.Workflow.CreateAsync("alice@example.com");

        ChannelCard();
        var calls = _h.Connector.Calls.ToList();
        Assert.Equal(2, calls.Count(c => c.Status == 429));
        Assert.Single(calls, c => c.Status == 502);
        Assert.Equal(RequestStatus.Pending, _h.Workflow[request.Id]!.Status);
        // One token served every call: it is cached.
        Assert.Equal(1, _h.Connector.TokenRequests);
    }

    [Fact]
    public async Task Typing_request_gets_the_form_whose_typeahead_and_submission_work()
    {
        TeamsHarness.Ok(await _h.SendAsync(Activities.Message(Url, "29:alice", "<at>AccessWorkflows</at> request ", "a:personal-29:alice")));
        var (formId, formMessage) = _h.Connector.MessagesIn("a:personal-29:alice").Single();
        var form = CardOf(formMessage);
        Assert.Contains(form["body"]!.AsArray(), e => e!["choices.data"]?["dataset"]?.GetValue<string>() == "policies");
        var accounts = form["body"]!.AsArray().Single(e => e!["id"]?.GetValue<string>() == "accountId")!["choices"]!.AsArray();
        Assert.Equal(["111122223333"], accounts.Select(a => a!["value"]!.GetValue<string>()));

        var search = await _h.InvokeAsync(Activities.Search(Url, "29:alice", "policies", "read", new JsonObject { ["accountId"] = "111122223333" }, "a:personal-29:alice"));
        Assert.Equal("application/vnd.microsoft.search.searchResponse", search["type"]!.GetValue<string>());
        var offered = search["value"]!["results"]!.AsArray().Select(r => r!["value"]!.GetValue<string>()).ToList();
        Assert.Equal(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"], offered);
        var admin = await _h.InvokeAsync(Activities.Search(Url, "29:alice", "policies", "Admin", new JsonObject { ["accountId"] = "111122223333" }, "a:personal-29:alice"));
        Assert.Empty(admin["value"]!["results"]!.AsArray());

        var submit = Activities.Execute(Url, "29:alice", "submitRequest", new JsonObject
        {
            ["accountId"] = "111122223333",
            ["accessType"] = "policy",
            ["policyArn"] = "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ["duration"] = "PT1H",
            ["reason"] = "incident 42",
            ["requester"] = "carol@example.com",
        }, "a:personal-29:alice", formId, conversationType: "personal");
        var submitted = InvokeCard(await _h.InvokeAsync(submit));

        var (requester, body, channel) = Assert.Single(_h.Workflow.Submissions);
        Assert.Equal("alice@example.com", requester);
        Assert.Equal(Channels.Teams, channel);
        Assert.Equal("incident 42", body.Reason);
        Assert.Contains(Texts(submitted), t => t.Contains("submitted", StringComparison.Ordinal));
        Assert.Single(_h.Connector.MessagesIn(TeamsHarness.ApproverChannel));
    }

    [Fact]
    public async Task Invalid_form_submission_returns_the_form_with_the_problem()
    {
        var submit = Activities.Execute(Url, "29:alice", "submitRequest", new JsonObject
        {
            ["accountId"] = "111122223333",
            ["accessType"] = "group",
            ["groupName"] = "bad group name!",
        }, "a:personal-29:alice", conversationType: "personal");
        var card = InvokeCard(await _h.InvokeAsync(submit));
        Assert.Contains(Texts(card), t => t.Contains("access.groupName", StringComparison.Ordinal));
        Assert.Contains(card["body"]!.AsArray(), e => e!["id"]?.GetValue<string>() == "accountId");
    }

    [Fact]
    public async Task Every_card_sent_validates_against_the_adaptive_card_schema()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com", reason: "**bold** [x](https://evil.example)");
        var (cardId, _) = ChannelCard();
        var answered = new List<JsonObject>
        {
            InvokeCard(await _h.InvokeAsync(Activities.Execute(Url, "29:carol", "refresh", new JsonObject { ["requestId"] = request.Id }, TeamsHarness.ApproverChannel, cardId, "automatic"))),
            InvokeCard(await _h.InvokeAsync(Click("29:alice", "approve", request.Id, cardId))),
            InvokeCard(await _h.InvokeAsync(Click("29:mallory", "approve", request.Id, cardId))),
            InvokeCard(await _h.InvokeAsync(Click("29:carol", "approve", request.Id, cardId))),
        };
        await _h.Workflow.NotifyAsync(Notifications.NotificationKind.ExpiryReminder, _h.Workflow[request.Id]!);
        TeamsHarness.Ok(await _h.SendAsync(Activities.Message(Url, "29:alice", "request", "a:personal-29:alice")));
        TeamsHarness.Ok(await _h.SendAsync(Activities.Message(Url, "29:alice", "hi", "a:personal-29:alice")));

        var cards = _h.Connector.AllCards().Concat(answered).ToList();
        Assert.True(cards.Count >= 12, $"only {cards.Count} cards");
        foreach (var card in cards)
        {
            CardSchema.AssertValid(card);
        }
    }

    internal static List<string> Texts(JsonObject card)
    {
        var texts = new List<string>();
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    if (o["type"]?.GetValue<string>() is "TextBlock" or "TextRun" && o["text"] is JsonValue t)
                    {
                        texts.Add(t.GetValue<string>());
                    }

                    foreach (var (_, child) in o)
                    {
                        Walk(child);
                    }

                    break;
                case JsonArray a:
                    foreach (var child in a)
                    {
                        Walk(child);
                    }

                    break;
            }
        }

        Walk(card["body"]);
        return texts;
    }

    internal static List<string> Verbs(JsonObject card) =>
        [.. (card["actions"]?.AsArray() ?? []).Select(a => a!["verb"]!.GetValue<string>())];

    // SPEC 10: the request card keeps Teams' Data.Query typeahead and validates against the Adaptive Cards 1.5 schema
    // plus exactly that addition: a well-formed choices.data on Input.ChoiceSet, and nothing else.
    [Fact]
    public async Task The_request_card_keeps_its_typeahead_and_validates_against_1_5_plus_exactly_Data_Query_on_ChoiceSet()
    {
        TeamsHarness.Ok(await _h.SendAsync(Activities.Message(Url, "29:alice", "request", "a:personal-29:alice")));
        var form = FakeBotConnector.Card(Assert.Single(_h.Connector.MessagesIn("a:personal-29:alice")).Latest)!;

        CardSchema.AssertValid(form);
        var typeaheads = form["body"]!.AsArray().Where(e => e!["choices.data"] is not null).ToList();
        Assert.Equal(["policyArn", "groupName"], typeaheads.Select(e => e!["id"]!.GetValue<string>()));
        Assert.All(typeaheads, e =>
        {
            Assert.Equal("Input.ChoiceSet", e!["type"]!.GetValue<string>());
            Assert.Equal("Data.Query", e["choices.data"]!["type"]!.GetValue<string>());
        });

        // Anything beyond the documented addition is refused, as any other member outside the 1.5 schema is.
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d.Remove("dataset"))));
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d["type"] = "Data.Other")));
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d["url"] = "https://evil.example")));
        Assert.NotEmpty(CardSchema.Errors(Changed(form, "policyArn", d => d["associatedInputs"] = "sometimes")));
        var onText = form.DeepClone().AsObject();
        onText["body"]!.AsArray().Single(e => e!["id"]?.GetValue<string>() == "resourceArn")!["choices.data"] = new JsonObject { ["type"] = "Data.Query", ["dataset"] = "resources" };
        Assert.NotEmpty(CardSchema.Errors(onText));
    }

    /// <summary>The card with the <c>choices.data</c> of input <paramref name="id"/> changed.</summary>
    private static JsonObject Changed(JsonObject card, string id, Action<JsonObject> change)
    {
        var copy = card.DeepClone().AsObject();
        change(copy["body"]!.AsArray().Single(e => e!["id"]?.GetValue<string>() == id)!["choices.data"]!.AsObject());
        return copy;
    }
}
