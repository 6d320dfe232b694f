using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

public sealed class ClientTests
{
    private static DurableTaskRegistry WaitingRegistry() => new DurableTaskRegistry()
        .AddOrchestrator<string, string>("Wait", async (ctx, input) =>
        {
            ctx.SetCustomStatus(new { stage = "waiting", input });
            var value = await ctx.WaitForExternalEvent<string>("go");
            ctx.SetCustomStatus(new { stage = "done", input });
            return $"{input}:{value}";
        });

    [Fact]
    public async Task A_running_instance_id_is_refused_and_reusable_once_it_completed()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(WaitingRegistry());
        var options = new StartOrchestrationOptions("request-1");

        Assert.Equal("request-1", await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "a", options));
        var refused = await Assert.ThrowsAsync<InstanceAlreadyExistsException>(() => engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "b", options));
        Assert.Equal("request-1", refused.InstanceId);

        await engine.Client.RaiseEventAsync("request-1", "go", "x");
        Assert.Equal("a:x", (await EngineHarness.WaitForCompletionAsync(engine, "request-1")).ReadOutputAs<string>());

        await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "c", options);
        await engine.Client.RaiseEventAsync("request-1", "go", "y");
        var second = await EngineHarness.WaitForCompletionAsync(engine, "request-1");
        Assert.Equal("c:y", second.ReadOutputAs<string>());
        Assert.Equal("c", second.ReadInputAs<string>());
    }

    [Fact]
    public async Task The_client_works_before_the_engine_starts()
    {
        await using var harness = new EngineHarness();
        var engine = harness.Create(WaitingRegistry());

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "early");
        await engine.Client.RaiseEventAsync(id, "go", "buffered");
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await engine.Client.GetInstanceAsync(id))!.RuntimeStatus);

        await engine.StartAsync();
        Assert.Equal("early:buffered", (await EngineHarness.WaitForCompletionAsync(engine, id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task StartAt_defers_the_first_step_until_the_clock_reaches_it()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(WaitingRegistry());
        var startAt = harness.Clock.GetUtcNow().AddMinutes(10);

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "later", new StartOrchestrationOptions(StartAt: startAt));
        await engine.Client.RaiseEventAsync(id, "go", "queued");
        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromMinutes(10));
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await engine.Client.GetInstanceAsync(id))!.RuntimeStatus);

        harness.Clock.Advance(TimeSpan.FromMinutes(10));
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("later:queued", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Custom_status_is_persisted_with_each_step()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(WaitingRegistry());
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "s");

        var waiting = await EngineHarness.WaitForStateAsync(engine, id, m => m.SerializedCustomStatus is not null);
        Assert.Equal("""{"stage":"waiting","input":"s"}""", waiting.SerializedCustomStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Running, waiting.RuntimeStatus);

        await engine.Client.RaiseEventAsync(id, "go", "1");
        var done = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("""{"stage":"done","input":"s"}""", done.SerializedCustomStatus);
    }

    [Fact]
    public async Task Terminate_ends_a_running_instance_with_the_given_output_and_drops_later_events()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(WaitingRegistry());
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "t");
        await EngineHarness.WaitForStateAsync(engine, id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        await engine.Client.TerminateInstanceAsync(id, new TerminateInstanceOptions("revoked by admin"));
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("revoked by admin", result.ReadOutputAs<string>());

        await engine.Client.RaiseEventAsync(id, "go", "too late");
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await engine.Client.GetInstanceAsync(id))!.RuntimeStatus);
    }

    [Fact]
    public async Task Purge_deletes_finished_instances_only_and_events_to_missing_instances_are_dropped()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(WaitingRegistry());
        var done = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "p");
        var running = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", "r");
        await engine.Client.RaiseEventAsync(done, "go", "1");
        await EngineHarness.WaitForCompletionAsync(engine, done);

        Assert.Equal(0, (await engine.Client.PurgeInstanceAsync(running)).PurgedInstanceCount);
        Assert.Equal(1, (await engine.Client.PurgeInstanceAsync(done)).PurgedInstanceCount);
        Assert.Null(await engine.Client.GetInstanceAsync(done));
        Assert.NotNull(await engine.Client.GetInstanceAsync(running));

        await engine.Client.RaiseEventAsync("no-such-instance", "go", "1");
        Assert.Null(await engine.Client.GetInstanceAsync("no-such-instance"));
    }

    [Fact]
    public async Task Instances_are_queried_by_status_prefix_and_creation_time_page_by_page()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(WaitingRegistry());
        var t0 = harness.Clock.GetUtcNow();
        for (var i = 0; i < 25; i++)
        {
            var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", $"{i}", new StartOrchestrationOptions($"done-{i:D2}"));
            await engine.Client.RaiseEventAsync(id, "go", "x");
        }

        harness.Clock.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 5; i++)
        {
            await engine.Client.ScheduleNewOrchestrationInstanceAsync("Wait", $"{i}", new StartOrchestrationOptions($"open-{i}"));
        }

        for (var i = 0; i < 25; i++)
        {
            await EngineHarness.WaitForCompletionAsync(engine, $"done-{i:D2}");
        }

        var completed = await engine.Client.GetAllInstancesAsync(new OrchestrationQuery([OrchestrationRuntimeStatus.Completed], PageSize: 10, FetchInputsAndOutputs: true)).ToListAsync();
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"done-{i:D2}"), completed.Select(m => m.InstanceId).Order());
        Assert.All(completed, m => Assert.NotNull(m.SerializedOutput));

        var open = await engine.Client.GetAllInstancesAsync(new OrchestrationQuery([OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running], PageSize: 2)).ToListAsync();
        Assert.Equal(5, open.Count);
        Assert.All(open, m => Assert.Null(m.SerializedInput));

        var byPrefix = await engine.Client.GetAllInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: "done-1", PageSize: 3)).ToListAsync();
        Assert.Equal(10, byPrefix.Count);

        var createdLater = await engine.Client.GetAllInstancesAsync(new OrchestrationQuery(CreatedFrom: t0.AddSeconds(30))).ToListAsync();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"open-{i}"), createdLater.Select(m => m.InstanceId));

        var createdEarlier = await engine.Client.GetAllInstancesAsync(new OrchestrationQuery(CreatedTo: t0.AddSeconds(30), PageSize: 7)).ToListAsync();
        Assert.Equal(25, createdEarlier.Count);
    }
}
