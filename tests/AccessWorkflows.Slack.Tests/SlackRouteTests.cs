using System.Net;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Slack.Tests.Fakes;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Slack.Tests;

/// <summary>The Slack routes driven over loopback with Slack's payloads, against the fake Web API and a fake
/// request service.</summary>
public sealed class SlackRouteTests : IAsyncLifetime
{
    private SlackTestHost _host = null!;

    public async Task InitializeAsync() => _host = await SlackTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Slash_command_is_acknowledged_empty_and_opens_the_modal_with_only_the_accounts_the_rules_allow()
    {
        var response = await _host.PostSignedAsync("api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.RequesterId, "trig-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
        var open = await Eventually.Until(() => Task.FromResult(_host.Slack.CallsOf("views.open")), c => c.Count == 1, "views.open was called");
        Assert.Equal("trig-1", open[0].Args["trigger_id"]!.GetValue<string>());
        var view = open[0].Args["view"]!;
        Assert.Equal("access_request", view["callback_id"]!.GetValue<string>());
        var accountOptions = view["blocks"]!.AsArray().Single(b => b!["block_id"]!.GetValue<string>() == "account")!["element"]!["options"]!.AsArray();
        Assert.Equal(["111122223333"], accountOptions.Select(o => o!["value"]!.GetValue<string>()));
        foreach (var block in new[] { "policy", "group", "resource" })
        {
            var element = view["blocks"]!.AsArray().Single(b => b!["block_id"]!.GetValue<string>() == block)!["element"]!;
            Assert.Equal("external_select", element["type"]!.GetValue<string>());
        }

        Assert.Equal("users.info", _host.Slack.Calls[0].Method);
    }

    [Fact]
    public async Task Options_offer_only_what_a_rule_allows_the_person_typing()
    {
        async Task<string[]> OptionsFor(string userId, string actionId, string query, string? account = "111122223333")
        {
            var response = await _host.PostPayloadAsync("api/slack/options", SlackPayloads.BlockSuggestion(userId, actionId, query, account));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            return [.. body["options"]!.AsArray().Select(o => o!["value"]!.GetValue<string>())];
        }

        // The sandbox account offers the rules' own entries and the common managed policies the rules allow.
        var policies = await OptionsFor(SlackTestHost.RequesterId, "policy", "");
        Assert.Contains("arn:aws:iam::aws:policy/ReadOnlyAccess", policies);
        Assert.Contains("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", policies);
        Assert.All(policies, p => Assert.Contains("ReadOnly", p));
        Assert.DoesNotContain("arn:aws:iam::aws:policy/AdministratorAccess", policies);
        Assert.Equal(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"], await OptionsFor(SlackTestHost.RequesterId, "policy", "s3"));
        Assert.Equal(["Developers"], await OptionsFor(SlackTestHost.RequesterId, "group", ""));
        Assert.Equal(["arn:aws:s3:::team-data"], await OptionsFor(SlackTestHost.RequesterId, "resource", "arn:aws:s3:::team-data"));
        Assert.Empty(await OptionsFor(SlackTestHost.RequesterId, "resource", "arn:aws:s3:::payroll"));
        Assert.Empty(await OptionsFor(SlackTestHost.RequesterId, "policy", "", account: "444455556666"));
        Assert.Empty(await OptionsFor(SlackTestHost.OutsiderId, "policy", ""));
    }

    [Fact]
    public async Task Invalid_modal_fields_are_answered_with_field_errors_and_nothing_is_submitted()
    {
        var values = SlackPayloads.RequestValues(policy: null, duration: "forever", reason: new string('x', 1001));
        var response = await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.RequesterId, "V0BAD", "access_request", values));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("errors", body["response_action"]!.GetValue<string>());
        var errors = body["errors"]!.AsObject();
        Assert.Contains("policy", errors.Select(e => e.Key));
        Assert.Contains("duration", errors.Select(e => e.Key));
        Assert.Contains("reason", errors.Select(e => e.Key));
        Assert.Empty(_host.Workflow.Log);
    }

    [Fact]
    public async Task Errors_of_the_request_service_come_back_on_the_modal_field_they_concern()
    {
        var values = SlackPayloads.RequestValues(account: "444455556666");
        var response = await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.RequesterId, "V0PROD", "access_request", values));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("errors", body["response_action"]!.GetValue<string>());
        Assert.Equal("is not an account in the rules", body["errors"]!["account"]!.GetValue<string>());
        Assert.Empty(_host.Workflow.Requests);
    }

    [Fact]
    public async Task From_slash_command_to_relinquish_the_approver_click_makes_it_active_and_every_message_follows()
    {
        var request = await SubmitFromSlackAsync("need to read the logs");
        Assert.Equal(SlackTestHost.RequesterEmail, request.Requester);
        Assert.Equal(Channels.Slack, request.Channel);

        // The approver message: in the level's channel, with Approve / Deny and durations never above the maximum.
        var (channel, ts) = await ApprovalMessageAsync();
        var message = _host.Slack.Message(channel, ts)!;
        var text = message.ToJsonString();
        Assert.Contains(SlackTestHost.RequesterEmail, text);
        Assert.Contains("need to read the logs", text);
        var actions = message["blocks"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "actions")!["elements"]!.AsArray();
        Assert.Equal(["approve", "deny", "duration"], actions.Select(a => a!["action_id"]!.GetValue<string>()));
        var durations = actions[2]!["options"]!.AsArray().Select(o => AccessDuration.Parse(o!["value"]!.GetValue<string>())).ToList();
        Assert.All(durations, d => Assert.True(d <= TimeSpan.FromHours(8)));
        Assert.Contains(TimeSpan.FromHours(8), durations);
        Assert.Equal("PT1H", actions[2]!["initial_option"]!["value"]!.GetValue<string>());

        // The requester was told it was received, in a DM.
        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId);
        await Eventually.Until(() => _host.Slack.MessagesIn(dm).Count == 1, "the requester got the received DM");
        Assert.Contains("was received", _host.Slack.MessagesIn(dm)[0]["text"]!.GetValue<string>());

        // The approver approves for 2 hours.
        var click = await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "approve", request.Id, "1700000100.000100", "PT2H"));
        Assert.Equal(HttpStatusCode.OK, click.StatusCode);
        Assert.Equal(string.Empty, await click.Content.ReadAsStringAsync());

        await Eventually.Until(() => _host.Workflow.Find(request.Id)!.Status == RequestStatus.Active, "the request became active");
        var decision = _host.Workflow.Log.Single(l => l.Command == "decide");
        Assert.Equal(SlackTestHost.ApproverEmail, decision.Email);
        Assert.Equal(TimeSpan.FromHours(2), _host.Workflow.Find(request.Id)!.GrantedDuration);

        var updated = await Eventually.Until(
            () => Task.FromResult(_host.Slack.Message(channel, ts)!.ToJsonString()),
            m => m.Contains("active until", StringComparison.Ordinal),
            "the approver message shows who approved and until when");
        Assert.Contains($"Approved by {SlackTestHost.ApproverEmail}, active until", updated);
        Assert.DoesNotContain("\"approve\"", updated);

        // The requester gets the active DM with a Relinquish button, and uses it.
        var activeDm = await Eventually.Until(() => Task.FromResult(_host.Slack.MessagesIn(dm)), m => m.Count == 2, "the requester got the active DM");
        Assert.Contains("active until", activeDm[1]["text"]!.GetValue<string>());
        var relinquishButton = activeDm[1]["blocks"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "actions")!["elements"]![0]!;
        Assert.Equal("relinquish", relinquishButton["action_id"]!.GetValue<string>());

        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.RequesterId, dm, activeDm[1]["ts"]!.GetValue<string>(), "relinquish", relinquishButton["value"]!.GetValue<string>(), "1700000200.000200"));

        await Eventually.Until(() => _host.Workflow.Find(request.Id)!.Status == RequestStatus.Relinquished, "the request was relinquished");
        await Eventually.Until(() => _host.Slack.MessagesIn(dm).Count == 3, "the requester got the ended DM");
        Assert.Contains("relinquished by", _host.Slack.MessagesIn(dm)[2]["text"]!.GetValue<string>());
        await Eventually.Until(() => _host.Slack.Message(channel, ts)!.ToJsonString().Contains("relinquished by", StringComparison.Ordinal), "the approver message shows the end");
        await Eventually.Until(() => !_host.Slack.MessagesIn(dm)[1].ToJsonString().Contains("\"relinquish\"", StringComparison.Ordinal), "the active DM lost its Relinquish button");
    }

    [Fact]
    public async Task Deny_asks_for_a_comment_and_the_comment_reaches_the_message_and_the_requester()
    {
        var request = await SubmitFromSlackAsync("quick look");
        var (channel, ts) = await ApprovalMessageAsync();

        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "deny", request.Id, "1700000300.000300"));
        var open = await Eventually.Until(() => Task.FromResult(_host.Slack.CallsOf("views.open")), c => c.Count == 2, "the deny modal was opened");
        var denyView = open[1].Args["view"]!;
        Assert.Equal("deny_comment", denyView["callback_id"]!.GetValue<string>());
        Assert.Equal(RequestStatus.Pending, _host.Workflow.Find(request.Id)!.Status);

        // Without a comment the modal says so.
        var empty = await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.ApproverId, "V0DENY", "deny_comment", SlackPayloads.CommentValues(" "), denyView["private_metadata"]!.GetValue<string>()));
        Assert.Contains("\"comment\"", await empty.Content.ReadAsStringAsync());
        Assert.Equal(RequestStatus.Pending, _host.Workflow.Find(request.Id)!.Status);

        var submit = await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.ApproverId, "V0DENY", "deny_comment", SlackPayloads.CommentValues("not during the freeze"), denyView["private_metadata"]!.GetValue<string>()));
        Assert.Equal(string.Empty, await submit.Content.ReadAsStringAsync());

        Assert.Equal(RequestStatus.Denied, _host.Workflow.Find(request.Id)!.Status);
        Assert.Equal(SlackTestHost.ApproverEmail, _host.Workflow.Find(request.Id)!.EndedBy);
        await Eventually.Until(() => _host.Slack.Message(channel, ts)!.ToJsonString().Contains($"Denied by {SlackTestHost.ApproverEmail}: not during the freeze", StringComparison.Ordinal), "the approver message shows the denial and its comment");
        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId);
        await Eventually.Until(() => _host.Slack.MessagesIn(dm).Any(m => m["text"]!.GetValue<string>().Contains("not during the freeze", StringComparison.Ordinal)), "the requester was told why");
    }

    [Fact]
    public async Task Deny_by_someone_who_may_not_decide_opens_no_modal_and_is_answered_ephemerally_with_the_reason()
    {
        var request = await SubmitFromSlackAsync("stranger");
        var (channel, ts) = await ApprovalMessageAsync();
        var modalsBefore = _host.Slack.CallsOf("views.open").Count;

        // Mallory is nobody's approver; alice may not decide on her own request.
        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.OutsiderId, channel, ts, "deny", request.Id, "1700000600.000600"));
        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.RequesterId, channel, ts, "deny", request.Id, "1700000601.000601"));

        var told = await Eventually.Until(() => Task.FromResult(_host.Slack.CallsOf("chat.postEphemeral")), c => c.Count == 2, "both clickers were told");
        var toMallory = told.Single(c => c.Args["user"]!.GetValue<string>() == SlackTestHost.OutsiderId);
        Assert.Equal(channel, toMallory.Args["channel"]!.GetValue<string>());
        Assert.Contains("is not an approver of a level this request has been sent to", toMallory.Args["text"]!.GetValue<string>());
        Assert.Contains(told, c => c.Args["user"]!.GetValue<string>() == SlackTestHost.RequesterId && c.Args["text"]!.GetValue<string>().Contains("not an approver", StringComparison.Ordinal));
        Assert.Equal(modalsBefore, _host.Slack.CallsOf("views.open").Count);
        Assert.Equal(RequestStatus.Pending, _host.Workflow.Find(request.Id)!.Status);

        // The approver still gets the modal.
        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "deny", request.Id, "1700000602.000602"));
        await Eventually.Until(() => _host.Slack.CallsOf("views.open").Count == modalsBefore + 1, "the approver's deny modal was opened");
    }

    [Fact]
    public async Task Approve_carries_the_comment_typed_in_the_message_and_deny_starts_its_modal_from_it()
    {
        var request = await SubmitFromSlackAsync("with a comment");
        var (channel, ts) = await ApprovalMessageAsync();
        var input = _host.Slack.Message(channel, ts)!["blocks"]!.AsArray().Single(b => b!["block_id"]?.GetValue<string>() == "decision_comment")!;
        Assert.Equal("input", input["type"]!.GetValue<string>());
        Assert.True(input["optional"]!.GetValue<bool>());
        Assert.Equal("comment", input["element"]!["action_id"]!.GetValue<string>());

        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "deny", request.Id, "1700000700.000700", comment: "needs a ticket"));
        var denyView = await Eventually.Until(() => Task.FromResult(_host.Slack.CallsOf("views.open")), c => c.Count == 2, "the deny modal was opened");
        var commentInput = denyView[1].Args["view"]!["blocks"]!.AsArray().Single(b => b!["block_id"]?.GetValue<string>() == "comment")!;
        Assert.Equal("needs a ticket", commentInput["element"]!["initial_value"]!.GetValue<string>());

        await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "approve", request.Id, "1700000701.000701", "PT2H", comment: "  ok, INC-42  "));

        await Eventually.Until(() => _host.Workflow.Find(request.Id)!.Status == RequestStatus.Active, "the request became active");
        var decision = Assert.Single(_host.Workflow.Find(request.Id)!.Decisions);
        Assert.Equal(DecisionKind.Approve, decision.Decision);
        Assert.Equal("ok, INC-42", decision.Comment);
        Assert.Equal(TimeSpan.FromHours(2), decision.Duration);
    }

    [Fact]
    public async Task Self_approval_is_refused_to_the_clicker_in_an_ephemeral_message_and_the_request_stays_pending()
    {
        var workflow = new FakeAccessWorkflow { Approvers = [SlackTestHost.ApproverEmail, SlackTestHost.RequesterEmail] };
        var host = await RestartWithAsync(workflow);
        var request = await SubmitFromSlackAsync("self");
        var (channel, ts) = await ApprovalMessageAsync();

        // The approval prompt's delivery posts the message and then brings every card of the request up to date; count
        // the updates only once that has happened, so what is counted below is what the refusal did.
        await Eventually.Until(() => host.Slack.CallsOf("chat.update").Any(c => c.Args["ts"]?.GetValue<string>() == ts), "the approval prompt's delivery finished");
        var before = host.Slack.CallsOf("chat.update").Count;

        await host.PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.RequesterId, channel, ts, "approve", request.Id, "1700000400.000400"));

        var ephemeral = await Eventually.Until(() => Task.FromResult(host.Slack.CallsOf("chat.postEphemeral")), c => c.Count == 1, "the clicker was told");
        Assert.Equal(SlackTestHost.RequesterId, ephemeral[0].Args["user"]!.GetValue<string>());
        Assert.Equal(channel, ephemeral[0].Args["channel"]!.GetValue<string>());
        Assert.Contains("You cannot decide on your own request", ephemeral[0].Args["text"]!.GetValue<string>());
        Assert.Equal(RequestStatus.Pending, workflow.Find(request.Id)!.Status);
        Assert.Empty(workflow.Find(request.Id)!.Decisions);
        Assert.Equal(before, host.Slack.CallsOf("chat.update").Count);
    }

    [Fact]
    public async Task The_same_click_delivered_twice_counts_once()
    {
        var workflow = new FakeAccessWorkflow { Approvers = [SlackTestHost.ApproverEmail, "dave@example.com"], MinApprovals = 2 };
        var host = await RestartWithAsync(workflow);
        var request = await SubmitFromSlackAsync("twice");
        var (channel, ts) = await ApprovalMessageAsync();
        var click = SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "approve", request.Id, "1700000500.000500");

        await host.PostPayloadAsync("api/slack/interactions", click);
        await host.PostPayloadAsync("api/slack/interactions", click);

        var decisions = await Eventually.Until(() => Task.FromResult(workflow.Log.Where(l => l.Command == "decide").ToList()), d => d.Count == 2, "both deliveries reached the request service");
        Assert.Equal(decisions[0].DecisionId, decisions[1].DecisionId);
        Assert.Single(workflow.Find(request.Id)!.Decisions);
        Assert.Equal(RequestStatus.Pending, workflow.Find(request.Id)!.Status);

        // A second, distinct click by the same approver is a different delivery (the service decides what it counts).
        Assert.NotEqual(decisions[0].DecisionId, DecisionIdOf(SlackPayloads.BlockActions(SlackTestHost.ApproverId, channel, ts, "approve", request.Id, "1700000501.000501")));
    }

    [Fact]
    public async Task A_reason_cannot_ping_the_channel_or_forge_a_link()
    {
        const string hostile = "<!channel> @channel <http://evil.example|click here> & <@U0BOSS>";
        await SubmitFromSlackAsync(hostile);
        var (channel, ts) = await ApprovalMessageAsync();

        var posted = _host.Slack.CallsOf("chat.postMessage").First(c => c.Args["channel"]!.GetValue<string>() == channel);
        var json = posted.Args.ToJsonString();
        var message = _host.Slack.Message(channel, ts)!;
        var texts = message["blocks"]!.AsArray().SelectMany(AllTexts).Append(message["text"]!.GetValue<string>()).ToList();
        Assert.Contains(texts, t => t.Contains("&lt;!channel&gt; @channel &lt;http://evil.example|click here&gt; &amp; &lt;@U0BOSS&gt;", StringComparison.Ordinal));
        Assert.DoesNotContain(texts, t => t.Contains("<!channel>", StringComparison.Ordinal) || t.Contains("<http://evil", StringComparison.Ordinal) || t.Contains("<@U0BOSS>", StringComparison.Ordinal));
        Assert.Null(posted.Args["link_names"]);
        Assert.DoesNotContain("link_names", json);
    }

    [Fact]
    public async Task Unknown_slash_command_gets_an_ephemeral_hint_and_opens_nothing()
    {
        var body = SlackPayloads.SlashCommand(SlackTestHost.RequesterId, "trig-x").Replace("%2Faccess", "%2Fother", StringComparison.Ordinal);
        var response = await _host.PostSignedAsync("api/slack/commands", body);
        Assert.Contains("ephemeral", await response.Content.ReadAsStringAsync());
        Assert.Empty(_host.Slack.CallsOf("views.open"));
    }

    private async Task<SlackTestHost> RestartWithAsync(FakeAccessWorkflow workflow)
    {
        await _host.DisposeAsync();
        _host = await SlackTestHost.StartAsync(workflow);
        return _host;
    }

    private static IEnumerable<string> AllTexts(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(kv => kv.Key == "text" && kv.Value is JsonValue v ? [v.GetValue<string>()] : AllTexts(kv.Value)),
        JsonArray a => a.SelectMany(AllTexts),
        _ => [],
    };

    private static string DecisionIdOf(JsonObject click) =>
        $"slack:{click["actions"]![0]!["value"]}:{click["user"]!["id"]}:approve:{click["actions"]![0]!["action_ts"]}";

    private async Task<AccessRequest> SubmitFromSlackAsync(string reason)
    {
        var before = _host.Workflow.Requests.Count;
        await _host.PostSignedAsync("api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.RequesterId, "trig-" + reason.GetHashCode(StringComparison.Ordinal)));
        await Eventually.Until(() => _host.Slack.CallsOf("views.open").Count > 0, "the request modal was opened");
        var submit = await _host.PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.RequesterId, "V0REQ" + before, "access_request", SlackPayloads.RequestValues(reason: reason)));
        Assert.Equal(HttpStatusCode.OK, submit.StatusCode);
        Assert.Equal(string.Empty, await submit.Content.ReadAsStringAsync());
        return _host.Workflow.Requests.Single(r => r.Reason == reason);
    }

    private async Task<(string Channel, string Ts)> ApprovalMessageAsync()
    {
        var messages = await Eventually.Until(() => Task.FromResult(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel)), m => m.Count > 0, "the approver message was posted");
        return (FakeAccessWorkflow.ApproverChannel, messages[^1]["ts"]!.GetValue<string>());
    }
}
