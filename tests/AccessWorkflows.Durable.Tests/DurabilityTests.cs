using System.Collections.Concurrent;
using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

/// <summary>Kill an engine mid-flight (its writes are fenced off at once, as if the process died), start a new one
/// on the same file, and check that every instance carries on from its history.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task An_activity_in_flight_at_the_crash_runs_again_and_completed_ones_do_not()
    {
        await using var harness = new EngineHarness();
        var firstRuns = 0;
        var secondRuns = 0;
        var secondStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var crashed = true;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("First", (ctx, x, ct) =>
            {
                Interlocked.Increment(ref firstRuns);
                return Task.FromResult(x + 1);
            })
            .AddActivity<int, int>("Second", async (ctx, x, ct) =>
            {
                Interlocked.Increment(ref secondRuns);
                if (Volatile.Read(ref crashed))
                {
                    secondStarted.TrySetResult();
                    await Task.Delay(Timeout.Infinite, ct);
                }

                return x * 10;
            })
            .AddOrchestrator<int, int>("Two", async (ctx, x) =>
            {
                var a = await ctx.CallActivityAsync<int>("First", x);
                return await ctx.CallActivityAsync<int>("Second", a);
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Two", 1);
        await secondStarted.Task.WaitAsync(EngineHarness.Timeout());

        first.Kill();
        Volatile.Write(ref crashed, false);
        var second = await harness.StartAsync(registry);

        var result = await EngineHarness.WaitForCompletionAsync(second, id);
        Assert.Equal(20, result.ReadOutputAs<int>());
        Assert.Equal(1, firstRuns);
        Assert.Equal(2, secondRuns);
    }

    [Fact]
    public async Task A_result_recorded_before_the_crash_is_not_lost_when_the_step_consuming_it_dies()
    {
        await using var harness = new EngineHarness();
        var runs = 0;
        var blockStep = true;
        var stepReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Once", (ctx, x, ct) =>
            {
                Interlocked.Increment(ref runs);
                return Task.FromResult(42);
            })
            .AddOrchestrator<int, int>("Consume", async (ctx, _) =>
            {
                var value = await ctx.CallActivityAsync<int>("Once", 0);
                if (!ctx.IsReplaying && Volatile.Read(ref blockStep))
                {
                    // The activity's result is in the inbox; this step dies before it commits.
                    stepReached.TrySetResult();
                    release.Wait();
                }

                return value;
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Consume", 0);
        await stepReached.Task.WaitAsync(EngineHarness.Timeout());

        first.Kill();
        Volatile.Write(ref blockStep, false);
        release.Set();
        var second = await harness.StartAsync(registry);

        var result = await EngineHarness.WaitForCompletionAsync(second, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(42, result.ReadOutputAs<int>());
        Assert.Equal(1, runs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_durable_timer_survives_a_crash_and_fires_at_once_if_it_fell_due_while_down(bool dueWhileDown)
    {
        await using var harness = new EngineHarness();
        var afterRuns = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, string>("After", (ctx, _, ct) =>
            {
                Interlocked.Increment(ref afterRuns);
                return Task.FromResult("woke");
            })
            .AddOrchestrator<int, string>("Sleeper", async (ctx, _) =>
            {
                await ctx.CreateTimer(TimeSpan.FromHours(1), CancellationToken.None);
                return await ctx.CallActivityAsync<string>("After", 0);
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Sleeper", 0);
        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromHours(1));
        first.Kill();

        if (dueWhileDown)
        {
            harness.Clock.Advance(TimeSpan.FromHours(2));
            var second = await harness.StartAsync(registry);
            var result = await EngineHarness.WaitForCompletionAsync(second, id);
            Assert.Equal("woke", result.ReadOutputAs<string>());
        }
        else
        {
            var second = await harness.StartAsync(registry);
            await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromHours(1));
            Assert.True((await second.Client.GetInstanceAsync(id))!.IsRunning);
            harness.Clock.Advance(TimeSpan.FromHours(1));
            var result = await EngineHarness.WaitForCompletionAsync(second, id);
            Assert.Equal("woke", result.ReadOutputAs<string>());
        }

        Assert.Equal(1, afterRuns);
    }

    [Fact]
    public async Task An_instance_waiting_for_an_event_gets_it_after_a_crash_even_if_raised_before_the_restart()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, string>("Waiter", async (ctx, _) =>
            {
                ctx.SetCustomStatus("waiting");
                return await ctx.WaitForExternalEvent<string>("Decision");
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Waiter", 0);
        await EngineHarness.WaitForCustomStatusAsync(first, id, "waiting");
        first.Kill();

        var second = harness.Create(registry);
        await second.Client.RaiseEventAsync(id, "decision", "approved");
        await second.StartAsync();

        var result = await EngineHarness.WaitForCompletionAsync(second, id);
        Assert.Equal("approved", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_killed_engine_writes_nothing_more_and_a_graceful_stop_lets_activities_finish()
    {
        await using var harness = new EngineHarness();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Slow", async (ctx, _, ct) =>
            {
                Interlocked.Increment(ref runs);
                started.TrySetResult();
                return await gate.Task;
            })
            .AddOrchestrator<int, int>("One", (ctx, _) => ctx.CallActivityAsync<int>("Slow", 0));
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("One", 0);
        await started.Task.WaitAsync(EngineHarness.Timeout());

        // Graceful: the stop waits for the activity, which records its result before the engine lets go.
        var stopping = first.StopAsync(EngineHarness.Timeout());
        Assert.False(stopping.IsCompleted);
        gate.SetResult(7);
        await stopping;

        var second = await harness.StartAsync(registry);
        var result = await EngineHarness.WaitForCompletionAsync(second, id);
        Assert.Equal(7, result.ReadOutputAs<int>());
        Assert.Equal(1, runs);

        second.Kill();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second.Client.ScheduleNewOrchestrationInstanceAsync("One", 0));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second.Client.RaiseEventAsync(id, "x"));
    }

    [Fact]
    public async Task Instances_complete_correctly_through_repeated_crashes_at_arbitrary_steps()
    {
        await using var harness = new EngineHarness();
        var executions = new ConcurrentDictionary<(string Instance, int Step), int>();
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Step", (ctx, n, ct) =>
            {
                executions.AddOrUpdate((ctx.InstanceId, n), 1, (_, c) => c + 1);
                return Task.FromResult(n * n);
            })
            .AddOrchestrator<int, int>("Steps", async (ctx, count) =>
            {
                var sum = 0;
                for (var i = 1; i <= count; i++)
                {
                    sum += await ctx.CallActivityAsync<int>("Step", i);
                    if (i % 2 == 0)
                    {
                        await ctx.CreateTimer(TimeSpan.Zero, CancellationToken.None);
                    }
                }

                return sum;
            });

        var ids = new List<string>();
        var engine = harness.Create(registry);
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await engine.Client.ScheduleNewOrchestrationInstanceAsync("Steps", 6));
        }

        // Each round kills the engine after a different number of committed steps, wherever the others are.
        for (var round = 0; round < 6; round++)
        {
            var steps = 0;
            var killAfter = 7 + (round * 5);
            var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var current = engine;
            current.StepCommitted += _ =>
            {
                if (Interlocked.Increment(ref steps) == killAfter)
                {
                    current.Kill();
                    killed.TrySetResult();
                }
            };
            await current.StartAsync();
            await killed.Task.WaitAsync(EngineHarness.Timeout());
            engine = harness.Create(registry);
        }

        await engine.StartAsync();
        foreach (var id in ids)
        {
            var result = await EngineHarness.WaitForCompletionAsync(engine, id);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(91, result.ReadOutputAs<int>());
            for (var step = 1; step <= 6; step++)
            {
                Assert.True(executions.ContainsKey((id, step)), $"{id} step {step} never ran");
            }
        }

        // At least once, and again only when a crash caught it in flight: far fewer re-runs than steps.
        Assert.True(executions.Values.Sum() < ids.Count * 6 * 2);
    }

    [Fact]
    public async Task A_stop_that_times_out_cancels_running_activities_which_run_again_on_the_next_start()
    {
        await using var harness = new EngineHarness();
        var runs = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Stubborn", async (ctx, x, ct) =>
            {
                if (Interlocked.Increment(ref runs) == 1)
                {
                    started.TrySetResult();
                    await Task.Delay(Timeout.Infinite, ct);
                }

                return x + 1;
            })
            .AddOrchestrator<int, int>("One", (ctx, x) => ctx.CallActivityAsync<int>("Stubborn", x));
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("One", 1);
        await started.Task.WaitAsync(EngineHarness.Timeout());

        using var alreadyOver = new CancellationTokenSource();
        await alreadyOver.CancelAsync();
        await first.StopAsync(alreadyOver.Token);

        var second = await harness.StartAsync(registry);
        var result = await EngineHarness.WaitForCompletionAsync(second, id);
        Assert.Equal(2, result.ReadOutputAs<int>());
        Assert.Equal(2, runs);
    }
}
