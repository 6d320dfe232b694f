using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Slack.Http;
using AccessWorkflows.Slack.Tests.Fakes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AccessWorkflows.Slack.Tests;

/// <summary>
/// Slack through the real server (embedded engine, SQLite, sandbox account) with <c>AccessWorkflows:Slack:*</c> set
/// and the Web API pointed at the local fake: the click of an approver in Slack drives the real workflow.
/// </summary>
public sealed class ServerSlackTests : IAsyncLifetime
{
    private const string Account = "111122223333";
    private const string ApproverChannel = "C0APPROVE";
    private const string SecOpsChannel = "C0SECOPS";
    private FakeSlackWebApi _slack = null!;
    private SlackServerFactory _server = null!;
    private HttpClient _http = null!;
    private int _clicks;

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackWebApi.StartAsync();
        _slack.AddUser(SlackTestHost.RequesterId, SlackTestHost.RequesterEmail);
        _slack.AddUser(SlackTestHost.ApproverId, SlackTestHost.ApproverEmail);
        _slack.AddUser("U0DAVE", "dave@example.com");
        _slack.AddChannel(ApproverChannel);
        _slack.AddChannel(SecOpsChannel);
        _slack.AddUser("U0SECOPS", "secops@example.com");
        _server = new SlackServerFactory(_slack.BaseAddress);
        _http = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await _slack.DisposeAsync();
        try
        {
            Directory.Delete(_server.DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task An_approval_Slack_was_answered_for_still_counts_when_the_server_stops_cleanly_before_it_ran()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(reason: "deploy"));
        var release = new TaskCompletionSource();
        string[] strangers = ["U0S1", "U0S2", "U0S3", "U0S4"];
        foreach (var stranger in strangers)
        {
            _slack.AddUser(stranger, $"{stranger.ToLowerInvariant()}@example.com");
        }

        // Four strangers' clicks hold the four workers while each is looked up; the approver's click, answered at
        // once like every click, waits in the queue behind them.
        var allHeld = _slack.HoldNext("users.info", release.Task, count: strangers.Length);
        foreach (var stranger in strangers)
        {
            Assert.Equal(HttpStatusCode.OK, (await ClickAsync(stranger, ApproverChannel, ts, "approve", requestId)).StatusCode);
        }

        await allHeld.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await ClickAsync(SlackTestHost.ApproverId, ApproverChannel, ts, "approve", requestId)).StatusCode);

        // SIGTERM now: the stop runs what is queued, which records the decision before the engine stops.
        _http.Dispose();
        var stopping = _server.DisposeAsync().AsTask();
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(60));

        _server = new SlackServerFactory(_slack.BaseAddress, dataDirectory: _server.DataDirectory);
        _http = _server.CreateClient();
        var active = await WaitForStatusAsync(requestId, "active");
        var decision = Assert.Single(active["decisions"]!.AsArray());
        Assert.Equal((SlackTestHost.ApproverEmail, "slack"), (decision!["approver"]!.GetValue<string>(), decision["channel"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_request_made_from_the_slash_command_goes_active_from_the_approvers_click_and_the_message_shows_who_and_until_when()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(duration: "2h", reason: "rotate the keys"));
        var pending = await GetAsync(requestId);
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        Assert.Equal(SlackTestHost.RequesterEmail, pending["requester"]!.GetValue<string>());

        var durations = Actions(_slack.Message(ApproverChannel, ts)!).Single(a => a["action_id"]!.GetValue<string>() == "duration")["options"]!.AsArray();
        Assert.Equal("PT8H", durations[^1]!["value"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await ClickAsync(SlackTestHost.ApproverId, ApproverChannel, ts, "approve", requestId, "PT1H")).StatusCode);

        var active = await WaitForStatusAsync(requestId, "active");
        Assert.Equal("PT1H", active["grantedDuration"]!.GetValue<string>());
        Assert.Equal("slack", active["decisions"]![0]!["channel"]!.GetValue<string>());
        Assert.Equal(SlackTestHost.ApproverEmail, active["decisions"]![0]!["approver"]!.GetValue<string>());
        await Eventually.Until(
            () => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains($"Approved by {SlackTestHost.ApproverEmail}, active until", StringComparison.Ordinal),
            "the approver message shows who approved and until when");
        Assert.DoesNotContain(Actions(_slack.Message(ApproverChannel, ts)!), a => a["action_id"]!.GetValue<string>() == "approve");
        var user = await SandboxUserAsync();
        Assert.Contains("arn:aws:iam::aws:policy/ReadOnlyAccess", user["attachedPolicies"]!.AsArray().Select(p => p!.GetValue<string>()));

        // The requester's DM carries the Relinquish button; clicking it ends the grant.
        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId);
        var activeDm = await Eventually.Until(
            () => Task.FromResult(_slack.MessagesIn(dm).FirstOrDefault(m => Actions(m).Any(a => a["action_id"]!.GetValue<string>() == "relinquish"))),
            m => m is not null,
            "the requester got the DM with the Relinquish button");
        await ClickAsync(SlackTestHost.RequesterId, dm, activeDm!["ts"]!.GetValue<string>(), "relinquish", requestId);

        await WaitForStatusAsync(requestId, "relinquished");
        Assert.Empty((await SandboxUserAsync())["attachedPolicies"]!.AsArray());
        await Eventually.Until(() => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains("relinquished by", StringComparison.Ordinal), "the approver message shows the end");
        await Eventually.Until(() => _slack.MessagesIn(dm).Any(m => m["text"]!.GetValue<string>().Contains("has ended", StringComparison.Ordinal)), "the requester was told it ended");
    }

    [Fact]
    public async Task A_denial_with_a_comment_ends_the_request_and_everyone_sees_the_comment()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(reason: "please"));

        await ClickAsync(SlackTestHost.ApproverId, ApproverChannel, ts, "deny", requestId);
        var denyView = await Eventually.Until(
            () => Task.FromResult(_slack.CallsOf("views.open") is { Count: > 0 } opens ? opens[^1].Args["view"] : null),
            v => v?["callback_id"]?.GetValue<string>() == "deny_comment",
            "the deny modal was opened");
        var submit = await PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.ApproverId, "V0DENY1", "deny_comment", SlackPayloads.CommentValues("use the read replica"), denyView!["private_metadata"]!.GetValue<string>()));
        Assert.Equal(string.Empty, await submit.Content.ReadAsStringAsync());

        var denied = await WaitForStatusAsync(requestId, "denied");
        Assert.Equal("use the read replica", denied["decisions"]![0]!["comment"]!.GetValue<string>());
        await Eventually.Until(() => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains("use the read replica", StringComparison.Ordinal) && _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains("Denied by", StringComparison.Ordinal), "the approver message shows the denial");
        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId);
        await Eventually.Until(() => _slack.MessagesIn(dm).Any(m => m["text"]!.GetValue<string>().Contains("use the read replica", StringComparison.Ordinal)), "the requester was told why");
    }

    [Fact]
    public async Task Approving_ones_own_request_is_refused_in_an_ephemeral_message_and_it_stays_pending()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(policy: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", reason: "mine"));

        await ClickAsync(SlackTestHost.RequesterId, ApproverChannel, ts, "approve", requestId);

        var ephemeral = await Eventually.Until(() => Task.FromResult(_slack.CallsOf("chat.postEphemeral")), c => c.Count == 1, "the clicker was told why");
        Assert.Equal(SlackTestHost.RequesterId, ephemeral[0].Args["user"]!.GetValue<string>());
        Assert.Contains("own request", ephemeral[0].Args["text"]!.GetValue<string>());
        var request = await GetAsync(requestId);
        Assert.Equal("pending", request["status"]!.GetValue<string>());
        Assert.Empty(request["decisions"]!.AsArray());
    }

    [Fact]
    public async Task Break_glass_from_the_requesters_own_click_with_a_comment_alerts_every_channel_and_person_and_flags_the_card()
    {
        const string Support = "arn:aws:iam::aws:policy/job-function/SupportUser";
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(policy: Support, reason: "prod is down"));

        // Without a comment the glass stays whole; with one, the requester's own Approve grants at once.
        await ClickAsync(SlackTestHost.RequesterId, ApproverChannel, ts, "approve", requestId);
        var refused = await Eventually.Until(() => Task.FromResult(_slack.CallsOf("chat.postEphemeral")), c => c.Count == 1, "the clicker was told a comment is needed");
        Assert.Contains("needs a comment", refused[0].Args["text"]!.GetValue<string>());
        await ClickAsync(SlackTestHost.RequesterId, ApproverChannel, ts, "approve", requestId, comment: "INC-77: database down");

        var active = await WaitForStatusAsync(requestId, "active");
        Assert.True(active["breakGlass"]!.GetValue<bool>());
        Assert.Equal("PT30M", active["grantedDuration"]!.GetValue<string>());

        // The alert: a new message in the level's channel and the rule's extra channel, and a DM to each approver and admin.
        bool Alerted(string channel) => _slack.MessagesIn(channel).Any(m => m["text"]!.GetValue<string>().Contains("Break-glass", StringComparison.Ordinal)
            && m.ToJsonString().Contains("INC-77: database down", StringComparison.Ordinal));
        string[] people = [SlackTestHost.ApproverId, "U0DAVE", "U0SECOPS"];
        await Eventually.Until(
            () => Alerted(SecOpsChannel) && Alerted(ApproverChannel) && people.All(user => Alerted(FakeSlackWebApi.DmChannelOf(user))),
            "both channels and every approver and admin are alerted");

        Assert.False(Alerted(FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId)), "the requester is not alerted of their own break-glass");
        await Eventually.Until(
            () => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains("post-incident review pending", StringComparison.Ordinal),
            "the approver message carries the break-glass badge");
    }

    [Fact]
    public async Task The_approver_message_shows_the_stage_and_the_second_stage_decides_after_the_first()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(policy: "arn:aws:iam::aws:policy/job-function/DatabaseAdministrator", reason: "migration"));
        Assert.Contains("Stage 1 of 2", _slack.Message(ApproverChannel, ts)!.ToJsonString(), StringComparison.Ordinal);

        await ClickAsync("U0DAVE", ApproverChannel, ts, "approve", requestId);
        await Eventually.Until(() => Task.FromResult(_slack.CallsOf("chat.postEphemeral")), c => c.Count == 1, "dave is told stage 2 is not asked yet");

        await ClickAsync(SlackTestHost.ApproverId, ApproverChannel, ts, "approve", requestId);
        await Eventually.Until(() => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains("Stage 2 of 2", StringComparison.Ordinal), "the message moves to stage 2 in place");
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());

        await ClickAsync("U0DAVE", ApproverChannel, ts, "approve", requestId);
        var active = await WaitForStatusAsync(requestId, "active");
        Assert.Equal("carol@example.com, dave@example.com", active["approvedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_same_click_delivered_twice_counts_once_through_the_workflow()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(policy: "arn:aws:iam::aws:policy/AdministratorAccess", reason: "two please"));
        var click = SlackPayloads.BlockActions(SlackTestHost.ApproverId, ApproverChannel, ts, "approve", requestId, "1700001000.000001");

        await PostPayloadAsync("api/slack/interactions", click);
        await PostPayloadAsync("api/slack/interactions", click);
        await Eventually.Until(async () => (await GetAsync(requestId))["decisions"]!.AsArray().Count, n => n == 1, "the first delivery counted");

        // A different approver's click completes the two approvals: had the duplicate counted, the second approval
        // of the threshold would already have been reached without dave.
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());
        await ClickAsync("U0DAVE", ApproverChannel, ts, "approve", requestId);
        var active = await WaitForStatusAsync(requestId, "active");
        Assert.Equal(2, active["decisions"]!.AsArray().Count);
        Assert.Empty(_slack.CallsOf("chat.postEphemeral"));
    }

    [Fact]
    public async Task An_unsigned_click_changes_nothing_on_the_server()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(reason: "unsigned"));
        var body = SlackTestHost.FormBody(("payload", SlackPayloads.BlockActions(SlackTestHost.ApproverId, ApproverChannel, ts, "approve", requestId, "1700002000.000001").ToJsonString()));
        var forged = await PostAsync("api/slack/interactions", body, DateTimeOffset.UtcNow, "v0=" + new string('0', 64));

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        var stale = await PostAsync("api/slack/interactions", body, DateTimeOffset.UtcNow.AddMinutes(-10));
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        var request = await GetAsync(requestId);
        Assert.Equal("pending", request["status"]!.GetValue<string>());
        Assert.Empty(request["decisions"]!.AsArray());
    }

    [Fact]
    public async Task The_reminders_Extend_button_asks_for_the_requester_an_approver_approves_it_in_the_channel_and_every_message_shows_the_new_expiry()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(policy: "arn:aws:iam::aws:policy/PowerUserAccess", duration: "PT20S", reason: "deploy"));
        await ClickAsync(SlackTestHost.ApproverId, ApproverChannel, ts, "approve", requestId, "PT20S");
        var active = await WaitForStatusAsync(requestId, "active");
        var firstExpiry = DateTimeOffset.Parse(active["expiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId);
        var reminder = await Eventually.Until(
            () => Task.FromResult(_slack.MessagesIn(dm).FirstOrDefault(m => Actions(m).Any(a => a["action_id"]!.GetValue<string>() == "extend"))),
            m => m is not null,
            "the expiry reminder carries the Extend button");
        var extend = Actions(reminder!).Single(a => a["action_id"]!.GetValue<string>() == "extend");
        Assert.Equal("Extend by 30m", extend["text"]!["text"]!.GetValue<string>());

        // The button names the request, not the person: anyone else clicking it is refused, ephemerally.
        await ClickAsync(SlackTestHost.ApproverId, dm, reminder!["ts"]!.GetValue<string>(), "extend", requestId);
        var refusal = await Eventually.Until(() => Task.FromResult(_slack.CallsOf("chat.postEphemeral")), c => c.Count == 1, "the other clicker was told why");
        Assert.Contains("Only the requester", refusal[0].Args["text"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await ClickAsync(SlackTestHost.RequesterId, dm, reminder["ts"]!.GetValue<string>(), "extend", requestId)).StatusCode);
        await Eventually.Until(
            () => Task.FromResult(_slack.Message(ApproverChannel, ts)!),
            m => Actions(m).Any(a => a["action_id"]!.GetValue<string>() == "extension_approve"),
            "the approver message asks for the extension");
        Assert.Equal(firstExpiry, DateTimeOffset.Parse((await GetAsync(requestId))["expiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));

        await ClickAsync("U0DAVE", ApproverChannel, ts, "extension_approve", requestId);
        var newExpiry = firstExpiry.AddMinutes(30);
        await Eventually.Until(
            async () => DateTimeOffset.Parse((await GetAsync(requestId))["expiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
            at => at == newExpiry,
            "the approved extension moves the expiry");

        // Slack's date markup of the new expiry (the JSON escapes its '<', so the search starts after it).
        var newWhen = $"!date^{newExpiry.ToUnixTimeSeconds()}^";
        await Eventually.Until(() => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains(newWhen, StringComparison.Ordinal), "the approver message shows the new expiry in place");
        Assert.DoesNotContain(Actions(_slack.Message(ApproverChannel, ts)!), a => a["action_id"]!.GetValue<string>() == "extension_approve");
        var activeDm = _slack.MessagesIn(dm).Single(m => Actions(m).Any(a => a["action_id"]!.GetValue<string>() == "relinquish"));
        await Eventually.Until(() => _slack.Message(dm, activeDm["ts"]!.GetValue<string>())!.ToJsonString().Contains(newWhen, StringComparison.Ordinal), "the active DM shows the new expiry in place");
        var extension = (await GetAsync(requestId))["extensions"]![0]!;
        Assert.Equal(("slack", "dave@example.com"), (extension["channel"]!.GetValue<string>(), extension["decidedBy"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_requesters_Cancel_button_cancels_and_the_approver_message_shows_it_in_place()
    {
        var (requestId, ts) = await RequestFromSlackAsync(SlackPayloads.RequestValues(reason: "changed my mind"));
        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId);
        var received = await Eventually.Until(
            () => Task.FromResult(_slack.MessagesIn(dm).FirstOrDefault(m => Actions(m).Any(a => a["action_id"]!.GetValue<string>() == "cancel"))),
            m => m is not null,
            "the received DM carries the Cancel button");
        var receivedTs = received!["ts"]!.GetValue<string>();

        await ClickAsync(SlackTestHost.ApproverId, dm, receivedTs, "cancel", requestId);
        var refusal = await Eventually.Until(() => Task.FromResult(_slack.CallsOf("chat.postEphemeral")), c => c.Count == 1, "the other clicker was told why");
        Assert.Contains("Only the requester", refusal[0].Args["text"]!.GetValue<string>());
        Assert.Equal("pending", (await GetAsync(requestId))["status"]!.GetValue<string>());

        await ClickAsync(SlackTestHost.RequesterId, dm, receivedTs, "cancel", requestId);
        var cancelled = await WaitForStatusAsync(requestId, "cancelled");
        Assert.Equal(SlackTestHost.RequesterEmail, cancelled["endedBy"]!.GetValue<string>());
        await Eventually.Until(() => _slack.Message(ApproverChannel, ts)!.ToJsonString().Contains("Cancelled by the requester", StringComparison.Ordinal), "the approver message shows the cancel in place");
        Assert.DoesNotContain(Actions(_slack.Message(ApproverChannel, ts)!), a => a["action_id"]!.GetValue<string>() == "approve");
        await Eventually.Until(() => !Actions(_slack.Message(dm, receivedTs)!).Any(), "the received DM loses its Cancel button");
        Assert.Empty((await SandboxUserAsync())["attachedPolicies"]!.AsArray());
    }

    [Fact]
    public async Task A_slack_user_over_the_rate_limit_gets_429_with_Retry_After_and_other_users_do_not()
    {
        var limited = new SlackServerFactory(_slack.BaseAddress, permitLimit: 2);
        try
        {
            await SendOverTheLimitAsync(limited);
        }
        finally
        {
            await limited.DisposeAsync();
            Directory.Delete(limited.DataDirectory, recursive: true);
        }
    }

    private static async Task SendOverTheLimitAsync(SlackServerFactory limited)
    {
        using var http = limited.CreateClient();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
        {
            last = await PostAsync(http, "api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.RequesterId, "trig-limit-" + i), DateTimeOffset.UtcNow);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last!.StatusCode);
        Assert.Equal("application/problem+json", last.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(last.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.ApproverId, "trig-other"), DateTimeOffset.UtcNow)).StatusCode);

        // A forged request is refused before the limit, so it cannot spend the victim's permits.
        var forged = SlackPayloads.SlashCommand(SlackTestHost.ApproverId, "trig-forged");
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(http, "api/slack/commands", forged, DateTimeOffset.UtcNow, "v0=" + new string('0', 64))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.ApproverId, "trig-other-2"), DateTimeOffset.UtcNow)).StatusCode);
    }

    private async Task<(string RequestId, string Ts)> RequestFromSlackAsync(JsonObject values)
    {
        var opened = _slack.CallsOf("views.open").Count;
        var command = await PostAsync("api/slack/commands", SlackPayloads.SlashCommand(SlackTestHost.RequesterId, "trig-" + opened), DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.OK, command.StatusCode);
        await Eventually.Until(() => _slack.CallsOf("views.open").Count > opened, "the request modal was opened");

        var posted = _slack.MessagesIn(ApproverChannel).Count;
        var submit = await PostPayloadAsync("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.RequesterId, "V0REQ" + Guid.NewGuid().ToString("N"), "access_request", values));
        var answer = await submit.Content.ReadAsStringAsync();
        Assert.True(answer.Length == 0, $"the submission was refused: {answer}");

        var messages = await Eventually.Until(() => Task.FromResult(_slack.MessagesIn(ApproverChannel)), m => m.Count > posted, "the approver message was posted");
        var message = messages[^1];
        var requestId = Actions(message).Single(a => a["action_id"]!.GetValue<string>() == "approve")["value"]!.GetValue<string>();
        return (requestId, message["ts"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> ClickAsync(string userId, string channel, string ts, string action, string requestId, string? duration = null, string? comment = null) =>
        PostPayloadAsync("api/slack/interactions", SlackPayloads.BlockActions(userId, channel, ts, action, requestId, $"1700000000.{Interlocked.Increment(ref _clicks):D6}", duration, comment));

    private Task<HttpResponseMessage> PostPayloadAsync(string path, JsonObject payload) =>
        PostAsync(path, SlackTestHost.FormBody(("payload", payload.ToJsonString())), DateTimeOffset.UtcNow);

    private Task<HttpResponseMessage> PostAsync(string path, string body, DateTimeOffset at, string? signature = null) =>
        PostAsync(_http, path, body, at, signature);

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string body, DateTimeOffset at, string? signature = null)
    {
        var ts = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/" + path)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add("X-Slack-Request-Timestamp", ts);
        request.Headers.Add("X-Slack-Signature", signature ?? SlackRequestVerifier.Sign(SlackTestHost.SigningSecret, ts, Encoding.UTF8.GetBytes(body)));
        return http.SendAsync(request);
    }

    private async Task<JsonNode> GetAsync(string requestId)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, $"/api/requests/{requestId}");
        get.Headers.Add("X-Dev-User", "secops@example.com");
        var response = await _http.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    private async Task<JsonNode> SandboxUserAsync()
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, $"/api/sandbox/accounts/{Account}/users/{SlackTestHost.RequesterEmail}");
        get.Headers.Add("X-Dev-User", "secops@example.com");
        var response = await _http.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    private Task<JsonNode> WaitForStatusAsync(string requestId, string status) =>
        Eventually.Until(() => GetAsync(requestId), r => r["status"]!.GetValue<string>() == status, $"request {requestId} is {status}");

    private static IEnumerable<JsonNode> Actions(JsonObject message) =>
        message["blocks"]!.AsArray().Where(b => b!["type"]!.GetValue<string>() == "actions").SelectMany(b => b!["elements"]!.AsArray())!;

    private sealed class SlackServerFactory : WebApplicationFactory<Program>
    {
        private readonly Uri _slackApi;
        private readonly int _permitLimit;

        /// <param name="dataDirectory">An earlier server's data directory, to start again on its state; a new one when null.</param>
        public SlackServerFactory(Uri slackApi, int permitLimit = 1_000_000, string? dataDirectory = null)
        {
            _slackApi = slackApi;
            _permitLimit = permitLimit;
            DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "aw-slack-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(DataDirectory);
        }

        public string DataDirectory { get; }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("AccessWorkflows:RulesPath", Path.Combine(AppContext.BaseDirectory, "slack-server-rules.yaml"));
            builder.UseSetting("AccessWorkflows:Sqlite:Path", Path.Combine(DataDirectory, "accessworkflows.db"));
            builder.UseSetting("AccessWorkflows:Durable:Path", Path.Combine(DataDirectory, "durable.db"));
            builder.UseSetting("AccessWorkflows:Auth:Mode", "Development");
            builder.UseSetting("AccessWorkflows:Slack:SigningSecret", SlackTestHost.SigningSecret);
            builder.UseSetting("AccessWorkflows:Slack:BotToken", FakeSlackWebApi.BotToken);
            builder.UseSetting("AccessWorkflows:Slack:ApiBaseUrl", _slackApi.ToString());
            builder.UseSetting("AccessWorkflows:Workflow:ReminderLead", "00:00:15");
            builder.UseSetting("AccessWorkflows:RateLimit:PermitLimit", _permitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
