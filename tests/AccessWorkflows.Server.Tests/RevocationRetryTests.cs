using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Durable;
using AccessWorkflows.Grants;
using AccessWorkflows.Testing;
using AccessWorkflows.Testing.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccessWorkflows.Server.Tests;

/// <summary>SPEC 6.9 on the embedded engine: revocation retries until AWS accepts it, alerting at every round, and a
/// revocation that keeps failing does not grow its history without bound (it continues as new after every round).</summary>
public sealed class RevocationRetryTests
{
    [Fact]
    public async Task A_revocation_that_keeps_failing_retries_round_after_round_with_a_bounded_history_until_it_succeeds()
    {
        // Two rounds of six attempts fail; the third round's first attempt succeeds.
        var iam = new FailingProvisioner { RemoveFailures = 12 };
        await using var server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:RulesPath"] = Path.Combine(AppContext.BaseDirectory, "revocation-rules.yaml"),
            ["AccessWorkflows:Workflow:RevocationRetry:FirstRetryInterval"] = "00:00:00.100",
            ["AccessWorkflows:Workflow:RevocationRetry:RoundPause"] = "00:00:01",
        })
        {
            TestServices = services =>
            {
                services.RemoveAll<IAccessProvisioner>();
                services.AddSingleton<IAccessProvisioner>(iam);
            },
        };
        var alice = server.As("alice@example.com");
        var created = await alice.PostAsJsonAsync("/api/requests", new
        {
            accountId = "444455556666",
            access = new { type = "policy", policyArn = Api.ReadOnly },
            duration = "PT2S",
        });
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await Eventually.Until(() => Api.GetAsync(alice, id), r => r.ApprovalLevel == 1, "level 1 is prompted");
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(server.As("carol@example.com"), id, "approve")).StatusCode);

        await Api.WaitForStatusAsync(alice, id, "expired");
        Assert.Equal(13, iam.Removes);

        var audit = await server.As("secops@example.com").GetFromJsonAsync<JsonElement>($"/api/requests/{id}/audit");
        var failing = audit.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "revoke.failing")
            .Select(e => e.GetProperty("detail").GetString()).ToList();
        Assert.Equal(2, failing.Count);
        Assert.Contains("round 1", failing[0]);
        Assert.Contains("round 2", failing[1]);

        // The history kept is the last execution's: it started at round 3 and holds one attempt, not three rounds.
        var history = JsonDocument.Parse(HistoryReplay.Export(Path.Combine(server.DataDirectory, "durable.db"), id)).RootElement;
        var started = history.EnumerateArray().Single(e => e.GetProperty("type").GetString() == "ExecutionStarted");
        Assert.Equal(3, JsonDocument.Parse(started.GetProperty("data").GetString()!).RootElement.GetProperty("revoking").GetProperty("round").GetInt32());
        Assert.DoesNotContain(history.EnumerateArray(), e => e.GetProperty("type").GetString() == "TaskFailed");
    }
}
