using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

public sealed class TaskCompositionTests
{
    public enum Winner
    {
        Activity,
        Timer,
        Event,
    }

    [Theory]
    [InlineData(Winner.Activity)]
    [InlineData(Winner.Timer)]
    [InlineData(Winner.Event)]
    public async Task WhenAny_over_an_activity_a_timer_and_an_event_returns_the_first_to_finish(Winner winner)
    {
        await using var harness = new EngineHarness();
        var activityGate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new DurableTaskRegistry()
            .AddActivity<int, string>("Slow", (ctx, _, ct) => activityGate.Task.WaitAsync(ct))
            .AddOrchestrator<int, string>("Race", async (ctx, _) =>
            {
                using var cancelTimer = new CancellationTokenSource();
                var activity = ctx.CallActivityAsync<string>("Slow", 0);
                var timer = ctx.CreateTimer(TimeSpan.FromHours(1), cancelTimer.Token);
                var approval = ctx.WaitForExternalEvent<string>("Approval");
                ctx.SetCustomStatus("racing");
                var first = await Task.WhenAny(activity, timer, approval);
                if (first != timer)
                {
                    // The losing timer must not keep the instance alive.
                    cancelTimer.Cancel();
                }

                return first == activity ? $"activity:{await activity}"
                    : first == approval ? $"event:{await approval}"
                    : "timer";
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Race", 0);
        await EngineHarness.WaitForCustomStatusAsync(engine, id, "racing");

        switch (winner)
        {
            case Winner.Activity:
                activityGate.SetResult("done");
                break;
            case Winner.Timer:
                await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromHours(1));
                harness.Clock.Advance(TimeSpan.FromHours(1));
                break;
            case Winner.Event:
                await engine.Client.RaiseEventAsync(id, "Approval", "yes");
                break;
        }

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        activityGate.TrySetResult("late");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var expected = winner switch
        {
            Winner.Activity => "activity:done",
            Winner.Timer => "timer",
            _ => "event:yes",
        };
        Assert.Equal(expected, result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task WhenAll_fans_out_activities_in_parallel_and_fans_in_their_results()
    {
        await using var harness = new EngineHarness();
        var running = 0;
        var maxRunning = 0;
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Square", async (ctx, x, ct) =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref maxRunning, now);
                if (now == 4)
                {
                    allStarted.TrySetResult();
                }

                // Hold the first four until all four run at once: proves the fan-out is parallel.
                await allStarted.Task.WaitAsync(ct);
                Interlocked.Decrement(ref running);
                return x * x;
            })
            .AddOrchestrator<int, int>("FanOut", async (ctx, n) =>
            {
                var tasks = Enumerable.Range(1, n).Select(i => ctx.CallActivityAsync<int>("Square", i)).ToList();
                var results = await Task.WhenAll(tasks);
                return results.Sum();
            });
        var engine = await harness.StartAsync(registry, maxActivities: 4);

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("FanOut", 10);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(385, result.ReadOutputAs<int>());
        Assert.Equal(4, maxRunning);
    }

    [Fact]
    public async Task Events_raised_before_anyone_waits_are_buffered_and_delivered_in_order()
    {
        await using var harness = new EngineHarness();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Gate", (ctx, _, ct) => gate.Task.WaitAsync(ct))
            .AddOrchestrator<int, string>("Buffered", async (ctx, _) =>
            {
                ctx.SetCustomStatus("busy");
                await ctx.CallActivityAsync<int>("Gate", 0);
                var first = await ctx.WaitForExternalEvent<string>("Approval");
                var second = await ctx.WaitForExternalEvent<string>("approval");
                var third = await ctx.WaitForExternalEvent<string>("APPROVAL");
                return $"{first},{second},{third}";
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Buffered", 0);
        await EngineHarness.WaitForCustomStatusAsync(engine, id, "busy");

        await engine.Client.RaiseEventAsync(id, "approval", "a");
        await engine.Client.RaiseEventAsync(id, "APPROVAL", "b");
        await engine.Client.RaiseEventAsync(id, "Approval", "c");

        // Nobody waits for Approval yet: the orchestrator is still in its activity.
        gate.SetResult(1);

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("a,b,c", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Several_waiters_on_one_name_receive_events_in_the_order_they_waited()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, string>("Waiters", async (ctx, _) =>
            {
                var first = ctx.WaitForExternalEvent<int>("Vote");
                var second = ctx.WaitForExternalEvent<int>("vote");
                ctx.SetCustomStatus("waiting");
                var both = await Task.WhenAll(first, second);
                return string.Join(",", both);
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Waiters", 0);
        await EngineHarness.WaitForCustomStatusAsync(engine, id, "waiting");

        await engine.Client.RaiseEventAsync(id, "VOTE", 1);
        await engine.Client.RaiseEventAsync(id, "vote", 2);

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("1,2", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_with_a_timeout_throws_when_the_timer_wins()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, string>("Timeout", async (ctx, _) =>
            {
                try
                {
                    return await ctx.WaitForExternalEvent<string>("Approval", TimeSpan.FromMinutes(30));
                }
                catch (TimeoutException)
                {
                    return "timed out";
                }
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Timeout", 0);

        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromMinutes(30));
        harness.Clock.Advance(TimeSpan.FromMinutes(29));
        Assert.True((await engine.Client.GetInstanceAsync(id))!.IsRunning);
        harness.Clock.Advance(TimeSpan.FromMinutes(1));

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("timed out", result.ReadOutputAs<string>());
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
