using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

/// <summary>The instance cache keeps the row, history and live runner of instances that step again soon; an instance
/// that went to sleep on a far timer leaves it, and its next step reads it back from the database without losing or
/// changing anything.</summary>
public sealed class InstanceCacheTests
{
    [Fact]
    public async Task An_instance_asleep_on_a_far_timer_leaves_the_cache_and_one_on_a_near_timer_stays_and_both_wake_right()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddActivity<string, string>("Echo", (ctx, text, ct) => Task.FromResult(text))
            .AddOrchestrator<int, string>("Nap", async (ctx, seconds) =>
            {
                var before = await ctx.CallActivityAsync<string>("Echo", "before");
                await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddSeconds(seconds), CancellationToken.None);
                var after = await ctx.CallActivityAsync<string>("Echo", "after");
                return $"{before} {seconds} s {after}";
            });
        var engine = await harness.StartAsync(registry);

        using var farSteps = StepsOf(engine, "far");
        await engine.Client.ScheduleNewOrchestrationInstanceAsync("Nap", 3600, new StartOrchestrationOptions("far"));
        await farSteps.WaitAsync(2); // started and called Echo; Echo's result came and the timer was made
        Assert.Equal(0, engine.CachedInstances);

        using var nearSteps = StepsOf(engine, "near");
        await engine.Client.ScheduleNewOrchestrationInstanceAsync("Nap", 10, new StartOrchestrationOptions("near"));
        await nearSteps.WaitAsync(2);
        Assert.Equal(1, engine.CachedInstances);

        harness.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("before 10 s after", (await EngineHarness.WaitForCompletionAsync(engine, "near")).ReadOutputAs<string>());
        Assert.True((await engine.Client.GetInstanceAsync("far"))!.IsRunning);

        harness.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("before 3600 s after", (await EngineHarness.WaitForCompletionAsync(engine, "far")).ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_event_that_comes_before_the_far_timer_wakes_the_sleeping_instance_read_back_from_the_database()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<string, string>("AwaitApproval", async (ctx, requester) =>
            {
                using var cancel = new CancellationTokenSource();
                var approval = ctx.WaitForExternalEvent<string>("Approval");
                var timeout = ctx.CreateTimer(ctx.CurrentUtcDateTime.AddHours(1), cancel.Token);
                if (await Task.WhenAny(approval, timeout) == approval)
                {
                    cancel.Cancel();
                    return $"{requester} approved by {approval.Result}";
                }

                return $"{requester} timed out";
            });
        var engine = await harness.StartAsync(registry);

        using var steps = StepsOf(engine, "request");
        await engine.Client.ScheduleNewOrchestrationInstanceAsync("AwaitApproval", "alice", new StartOrchestrationOptions("request"));
        await steps.WaitAsync(1);
        Assert.Equal(0, engine.CachedInstances);

        harness.Clock.Advance(TimeSpan.FromMinutes(30));
        await engine.Client.RaiseEventAsync("request", "Approval", "bob");
        var done = await EngineHarness.WaitForCompletionAsync(engine, "request");
        Assert.Equal("alice approved by bob", done.ReadOutputAs<string>());
    }

    /// <summary>Counts the committed steps of one instance; <see cref="Counter.WaitAsync"/> waits for the n-th.</summary>
    private static Counter StepsOf(DurableEngine engine, string instanceId) => new(engine, instanceId);

    private sealed class Counter : IDisposable
    {
        private readonly DurableEngine _engine;
        private readonly string _instanceId;
        private readonly SemaphoreSlim _steps = new(0);

        public Counter(DurableEngine engine, string instanceId)
        {
            _engine = engine;
            _instanceId = instanceId;
            _engine.StepCommitted += OnStep;
        }

        public async Task WaitAsync(int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                Assert.True(await _steps.WaitAsync(EngineHarness.Patience), $"step {i + 1} of {_instanceId} never committed");
            }
        }

        public void Dispose()
        {
            _engine.StepCommitted -= OnStep;
            _steps.Dispose();
        }

        private void OnStep(string id)
        {
            if (id == _instanceId)
            {
                _steps.Release();
            }
        }
    }
}
