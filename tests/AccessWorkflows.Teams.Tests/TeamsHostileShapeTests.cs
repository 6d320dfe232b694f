using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Teams.Tests.Fakes;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Teams.Tests;

/// <summary>
/// Authenticated activities whose shape is not what Teams sends (SPEC 12: every input is hostile, a valid token
/// included): every member of every activity the bot reads, replaced in turn by every other JSON kind, gets a clear 4xx
/// or an ordinary answer, never a server error, and an outsider's activity changes nothing.
/// </summary>
public sealed class TeamsHostileShapeTests : IAsyncLifetime
{
    private static readonly Func<JsonNode?>[] Replacements =
    [
        () => null,
        () => JsonValue.Create("x"),
        () => JsonValue.Create(42),
        () => JsonValue.Create(false),
        () => new JsonArray(JsonValue.Create("x")),
        () => new JsonObject { ["id"] = new JsonArray() },
    ];

    private TeamsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await TeamsHarness.StartAsync();
        await _h.InstallEverywhereAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Every_member_of_every_activity_in_every_other_json_kind_is_answered_without_a_server_error()
    {
        var request = await _h.Workflow.CreateAsync("alice@example.com");
        var url = _h.Connector.ServiceUrl;
        var samples = new[]
        {
            Activities.Execute(url, "29:mallory", "approve", new JsonObject { ["requestId"] = request.Id, ["duration"] = "PT1H", ["comment"] = "x" }, TeamsHarness.ApproverChannel, "m-1"),
            Activities.Execute(url, "29:mallory", "deny", new JsonObject { ["requestId"] = request.Id }, TeamsHarness.ApproverChannel, "m-1"),
            Activities.Execute(url, "29:mallory", "submitRequest", new JsonObject { ["accountId"] = "444455556666", ["accessType"] = "policy", ["policyArn"] = "arn:aws:iam::aws:policy/ReadOnlyAccess", ["duration"] = "PT1H" }, "a:personal-29:mallory", conversationType: "personal"),
            Activities.Search(url, "29:mallory", "policies", "read", new JsonObject { ["accountId"] = "111122223333" }, "a:personal-29:mallory"),
            Activities.Message(url, "29:mallory", string.Empty, TeamsHarness.ApproverChannel, "channel", value: new JsonObject { ["requestId"] = request.Id, ["verb"] = "approve" }, replyToId: "m-1"),
            Activities.TeamInstall(url, TeamsHarness.TeamId),
        };

        var sent = 0;
        foreach (var sample in samples)
        {
            foreach (var mutated in JsonMutations.EachMemberReplaced(sample, Replacements))
            {
                using var response = await _h.SendAsync(mutated);
                sent++;
                Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for {mutated.ToJsonString()}");
            }
        }

        // A body that is not one JSON object, or repeats a member (read either way it would mean two things).
        foreach (var raw in new[] { "[]", "\"x\"", "null", "{", $"{{\"type\":\"message\",\"type\":\"invoke\",\"serviceUrl\":\"{url}\"}}" })
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _h.MessagesUrl) { Content = new StringContent(raw, Encoding.UTF8, "application/json") };
            message.Headers.Authorization = new("Bearer", _h.Auth.Token(FakeBotConnector.AppId, url));
            using var client = new HttpClient();
            using var response = await client.SendAsync(message);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.True(sent > 500, $"only {sent} mutations were sent");
        Assert.Equal(RequestStatus.Pending, _h.Workflow[request.Id]!.Status);
        Assert.Empty(_h.Workflow[request.Id]!.Decisions);
    }
}
