using System.Net;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Slack.Tests.Fakes;

namespace AccessWorkflows.Slack.Tests;

/// <summary>
/// Signed payloads whose shape is not what Slack sends (SPEC 12: every input is hostile, a valid signature included):
/// every member of every interaction Slack can send, replaced in turn by every other JSON kind, must get a clear 4xx
/// or an ordinary answer, never a server error, and change nothing.
/// </summary>
public sealed class SlackHostileShapeTests : IAsyncLifetime
{
    private static readonly Func<JsonNode?>[] Replacements =
    [
        () => null,
        () => JsonValue.Create("x"),
        () => JsonValue.Create(42),
        () => JsonValue.Create(true),
        () => new JsonArray(JsonValue.Create("x")),
        () => new JsonObject { ["values"] = "x" },
    ];

    private SlackTestHost _host = null!;

    public async Task InitializeAsync() => _host = await SlackTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Every_member_of_every_interaction_in_every_other_json_kind_is_answered_without_a_server_error()
    {
        var request = await _host.Workflow.SubmitAsync(SlackTestHost.RequesterEmail, new NewAccessRequest("111122223333", AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"), "1h", "shape", null), Channels.Slack);
        var id = request.Request!.Id;
        var samples = new (string Path, JsonObject Payload)[]
        {
            ("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.OutsiderId, FakeAccessWorkflow.ApproverChannel, "1.000001", "approve", id, "1700000001.000001", "PT1H")),
            ("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.OutsiderId, FakeAccessWorkflow.ApproverChannel, "1.000001", "deny", id, "1700000002.000002")),
            ("api/slack/interactions", SlackPayloads.BlockActions(SlackTestHost.OutsiderId, "D0DM", "1.000002", "relinquish", id, "1700000003.000003")),
            ("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.OutsiderId, "V0REQ", "access_request", SlackPayloads.RequestValues(account: "444455556666"))),
            ("api/slack/interactions", SlackPayloads.ViewSubmission(SlackTestHost.OutsiderId, "V0DENY", "deny_comment", SlackPayloads.CommentValues("no"), new JsonObject { ["requestId"] = id }.ToJsonString())),
            ("api/slack/options", SlackPayloads.BlockSuggestion(SlackTestHost.OutsiderId, "policy", "read", "111122223333")),
        };

        var sent = 0;
        foreach (var (path, payload) in samples)
        {
            foreach (var mutated in JsonMutations.EachMemberReplaced(payload, Replacements))
            {
                using var response = await _host.PostPayloadAsync(path, mutated);
                sent++;
                Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for {path} {mutated.ToJsonString()}");
            }
        }

        // A payload that is not one JSON object, or repeats a member (read either way it would mean two things).
        foreach (var raw in new[] { "[]", "\"x\"", "null", "{\"type\":\"block_actions\",\"type\":\"view_submission\"}", "{\"view\":{\"state\":1,\"state\":{}}}", "{" })
        {
            using var response = await _host.PostSignedAsync("api/slack/interactions", SlackTestHost.FormBody(("payload", raw)));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.True(sent > 500, $"only {sent} mutations were sent");

        // An outsider's clicks and submissions, whatever their shape, decided nothing and submitted nothing.
        Assert.Equal(RequestStatus.Pending, _host.Workflow.Find(id)!.Status);
        Assert.Empty(_host.Workflow.Find(id)!.Decisions);
        Assert.Single(_host.Workflow.Requests);
        Assert.Empty(_host.Slack.CallsOf("views.open"));
    }
}
