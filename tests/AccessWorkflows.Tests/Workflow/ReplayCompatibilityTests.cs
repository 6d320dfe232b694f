using AccessWorkflows.Durable;
using AccessWorkflows.Durable.Embedded;
using AccessWorkflows.Workflow;

namespace AccessWorkflows.Tests.Workflow;

/// <summary>
/// Requests in flight survive a deployment: histories recorded from released versions of the workflow replay on the
/// current orchestrator without non-determinism (docs/decisions/0009-orchestrator-versioning.md).
/// </summary>
/// <remarks>
/// <para>The files under <c>Histories/v{N}/</c> are the histories of instances started by workflow version N, one per
/// path an instance can be sleeping in when a new release arrives, exported from the embedded engine's database with
/// <see cref="HistoryReplay.Export"/> after driving the server through that path (version 1: the server of commit
/// a3c951c and its test rules, tests/AccessWorkflows.Server.Tests/test-rules.yaml; revoke-failing through the AWS
/// end-to-end harness with IAM refusing DetachUserPolicy, once in the pause after round 1 and once in round 2, which is
/// what catches a change of the revocation loop).</para>
/// <para>Version 3 (this release also made version 2, which no released build started) was recorded the same way from
/// the server of its release, revoke-failing with the test provisioner that refuses every removal
/// (tests/AccessWorkflows.Testing/Fakes/FailingProvisioner.cs); its round-2 history is the second execution, after
/// <c>ContinueAsNew</c>.</para>
/// <para>Version 4 (issue #15) adds the paths of extension and cancel, recorded from the server of its release and the
/// same test rules: extend-immediate (rule <c>extendable</c>, waiting for the moved expiry), extend-pending-approval and
/// extend-approved (rule <c>extend-with-approval</c>, before and after an approver's decision), and cancelled (a
/// completed instance: it replays to its completion).</para>
/// <para>Version 4's activity path (an ended grant sleeping on the durable timer before its CloudTrail activity is
/// collected) was recorded the same way from this release's server with <c>AccessWorkflows:Aws:ActivityDelay</c> PT1H:
/// a policy grant and a permission-set grant of tests/AccessWorkflows.Server.Tests/test-rules.yaml, each exported once
/// expired and waiting on that timer.</para>
/// <para>When a release raises <see cref="AccessWorkflowInput.CurrentVersion"/>, record that version's paths into a new
/// folder the same way. Never re-record or edit an old version's files: they are what production instances hold.</para>
/// </remarks>
public sealed class ReplayCompatibilityTests
{
    private static readonly string Histories = Path.Combine(AppContext.BaseDirectory, "Workflow", "Histories");

    public static TheoryData<string> RecordedHistories()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Histories, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(Histories, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RecordedHistories))]
    public void A_recorded_history_replays_on_the_current_orchestrator(string file)
    {
        var result = HistoryReplay.Replay(Registry(), "recorded", File.ReadAllText(Path.Combine(Histories, file)));

        Assert.True(result.IsDeterministic, $"{file}: {result.Problem}");

        // Still waiting where the history stopped; a history that holds its completion (a cancelled request) replays
        // to that completion.
        var completed = File.ReadAllText(Path.Combine(Histories, file)).Contains("\"ExecutionCompleted\"", StringComparison.Ordinal);
        Assert.Equal(completed ? OrchestrationRuntimeStatus.Completed : OrchestrationRuntimeStatus.Running, result.Status);
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v3")]
    public void Every_path_an_instance_can_sleep_in_has_a_recorded_history(string version)
    {
        var recorded = Directory.EnumerateFiles(Path.Combine(Histories, version), "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();

        Assert.Subset(
            recorded,
            new HashSet<string?>
            {
                "pending-level1", "escalated-level2", "pending-one-of-two-approvals", "active", "active-pre-approved", "active-after-reminder",
                "revoke-failing", "revoke-failing-round-2",
            });
    }

    /// <summary>Version 4's own paths (issue #15): an instance active after a break-glass, and one waiting in the
    /// second of two approval stages; recorded from this release's server with tests/AccessWorkflows.Server.Tests/
    /// lifecycle-rules.yaml (durations lengthened so each was still sleeping when exported).</summary>
    [Fact]
    public void Version_4_paths_have_recorded_histories()
    {
        var recorded = Directory.EnumerateFiles(Path.Combine(Histories, "v4"), "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();

        Assert.Subset(recorded, new HashSet<string?> { "active-break-glass", "pending-stage-2" });
    }

    [Theory]
    [InlineData("active-break-glass")]
    [InlineData("pending-stage-2")]
    public void A_version_4_history_does_not_replay_as_version_3(string name)
    {
        // The new paths exist only behind the version gate: read as a version 3 instance, the same history diverges.
        var history = File.ReadAllText(Path.Combine(Histories, "v4", name + ".json"));
        var asVersion3 = history.Replace("\\u0022version\\u0022:4", "\\u0022version\\u0022:3", StringComparison.Ordinal);
        Assert.NotEqual(history, asVersion3);

        var result = HistoryReplay.Replay(Registry(), "recorded", asVersion3);

        Assert.False(result.IsDeterministic);
    }

    [Fact]
    public void Every_path_of_extend_and_cancel_has_a_version_4_history()
    {
        var recorded = Directory.EnumerateFiles(Path.Combine(Histories, "v4"), "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();

        Assert.Subset(recorded, new HashSet<string?> { "extend-immediate", "extend-pending-approval", "extend-approved", "cancelled" });
    }

    [Fact]
    public void Version_4_instances_waiting_to_collect_activity_have_recorded_histories_that_end_on_that_timer()
    {
        foreach (var name in new[] { "collecting-activity", "collecting-activity-permission-set" })
        {
            var history = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Histories, "v4", name + ".json"))).RootElement.EnumerateArray().ToList();
            var lastTimer = history.Last(e => e.GetProperty("type").GetString() == "TimerCreated");
            var fireAt = new DateTime(long.Parse(lastTimer.GetProperty("data").GetString()!, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);

            // The activity timer is an hour (the recorded ActivityDelay) after the last step of the instance.
            Assert.InRange(fireAt - history[^1].GetProperty("timestamp").GetDateTime().ToUniversalTime(), TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
            Assert.Contains(history, e => e.TryGetProperty("name", out var n) && n.GetString() == WorkflowNames.DeprovisionActivity);
        }
    }

    [Fact]
    public void The_check_fails_for_an_orchestrator_that_changed_its_sequence()
    {
        // What an unversioned change looks like: the same workflow name, a different first call.
        var changed = new DurableTaskRegistry().AddOrchestrator<AccessWorkflowInput, AccessWorkflowResult>(
            WorkflowNames.Orchestrator,
            async (context, input) =>
            {
                await context.CallActivityAsync(WorkflowNames.CheckOnCallActivity, input.Request.Requester);
                return await AccessRequestOrchestrator.RunAsync(context, input);
            });

        var result = HistoryReplay.Replay(changed, "recorded", File.ReadAllText(Path.Combine(Histories, "v1", "active.json")));

        Assert.False(result.IsDeterministic);
        Assert.Contains(WorkflowNames.CheckOnCallActivity, result.Problem);
    }

    /// <summary>The orchestrator as both hosts register it (activities are never run by a replay).</summary>
    private static DurableTaskRegistry Registry() => new DurableTaskRegistry()
        .AddOrchestrator<AccessWorkflowInput, AccessWorkflowResult>(WorkflowNames.Orchestrator, AccessRequestOrchestrator.RunAsync);
}
