using AccessWorkflows.Durable.Embedded;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Durable.Tests;

public sealed class ContinueAsNewTests
{
    [Fact]
    public async Task A_loop_that_continues_as_new_keeps_a_bounded_history_and_ends_with_the_last_input()
    {
        await using var harness = new EngineHarness();
        var maxHistory = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Next", (ctx, n, ct) => Task.FromResult(n + 1))
            .AddOrchestrator<int, int>("Loop", async (ctx, n) =>
            {
                // A round: an activity and a timer, as a retry loop has.
                var next = await ctx.CallActivityAsync<int>("Next", n);
                await ctx.CreateTimer(TimeSpan.Zero, CancellationToken.None);
                if (next < 50)
                {
                    ctx.SetCustomStatus($"round {next}");
                    ctx.ContinueAsNew(next);
                    return -1;
                }

                return next;
            });
        var engine = await harness.StartAsync(registry);
        engine.StepCommitted += _ => maxHistory = Math.Max(maxHistory, HistoryLength(harness));

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Loop", 0);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(50, result.ReadOutputAs<int>());
        Assert.Equal(49, result.ReadInputAs<int>());
        Assert.Equal("round 49", result.ReadCustomStatusAs<string>());

        // One round's events (start, activity scheduled and completed, timer created and fired, end), never 50 rounds'.
        Assert.InRange(maxHistory, 1, 12);
    }

    [Fact]
    public async Task Events_received_but_not_awaited_are_carried_to_the_new_execution_in_arrival_order()
    {
        await using var harness = new EngineHarness();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Gate", (ctx, _, ct) => gate.Task.WaitAsync(ct))
            .AddOrchestrator<string, string>("Actor", async (ctx, seen) =>
            {
                if (seen.Length == 0)
                {
                    ctx.SetCustomStatus("busy");
                    await ctx.CallActivityAsync<int>("Gate", 0);
                }

                // One event per execution, as an actor that continues as new after each message.
                var item = await ctx.WaitForExternalEvent<string>("item");
                if (item == "end")
                {
                    return seen;
                }

                ctx.ContinueAsNew(seen + item);
                return "dropped";
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Actor", string.Empty);
        await EngineHarness.WaitForCustomStatusAsync(engine, id, "busy");

        // All arrive while the first execution is still in its activity: one step receives them all.
        foreach (var item in new[] { "a", "b", "c", "d", "end" })
        {
            await engine.Client.RaiseEventAsync(id, "ITEM", item);
        }

        gate.SetResult(0);

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("abcd", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Without_preserving_unprocessed_events_the_new_execution_does_not_see_them()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, string>("Forgetful", async (ctx, execution) =>
            {
                if (execution == 0)
                {
                    ctx.SetCustomStatus("first");
                    await ctx.WaitForExternalEvent<string>("restart");
                    ctx.ContinueAsNew(1, preserveUnprocessedEvents: false);
                    return "dropped";
                }

                ctx.SetCustomStatus("second");
                return await ctx.WaitForExternalEvent<string>("item");
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Forgetful", 0);
        await EngineHarness.WaitForCustomStatusAsync(first, id, "first");
        await first.StopAsync();

        // Raised while no engine runs, both reach the next step: "item" is received but nobody awaits it.
        var restarted = harness.Create(registry);
        await restarted.Client.RaiseEventAsync(id, "item", "early");
        await restarted.Client.RaiseEventAsync(id, "restart", "now");
        await restarted.StartAsync();
        await EngineHarness.WaitForCustomStatusAsync(restarted, id, "second");
        await restarted.Client.RaiseEventAsync(id, "item", "late");

        var result = await EngineHarness.WaitForCompletionAsync(restarted, id);
        Assert.Equal("late", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task The_old_executions_timers_and_activity_results_never_reach_the_new_one()
    {
        await using var harness = new EngineHarness();
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowGate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new DurableTaskRegistry()
            .AddActivity<int, string>("Slow", async (ctx, _, ct) =>
            {
                slowStarted.TrySetResult();
                return await slowGate.Task.WaitAsync(ct);
            })
            .AddOrchestrator<int, string>("Restless", async (ctx, execution) =>
            {
                if (execution == 0)
                {
                    // Sequence #0 is an activity, #1 a timer: neither is awaited when the execution moves on.
                    _ = ctx.CallActivityAsync<string>("Slow", 0);
                    _ = ctx.CreateTimer(TimeSpan.FromMinutes(5), CancellationToken.None);
                    await ctx.WaitForExternalEvent<string>("restart");
                    ctx.ContinueAsNew(1);
                    return "dropped";
                }

                // The new execution's #0 is a timer and #1 an event wait: a stale result for #0 or #1 would finish it.
                using var cancel = new CancellationTokenSource();
                var timer = ctx.CreateTimer(TimeSpan.FromHours(1), cancel.Token);
                var decision = ctx.WaitForExternalEvent<string>("decision");
                ctx.SetCustomStatus("second");
                var winner = await Task.WhenAny(timer, decision);
                cancel.Cancel();
                return winner == decision ? $"decision:{await decision}" : "timer";
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Restless", 0);
        await slowStarted.Task.WaitAsync(EngineHarness.Timeout());

        await engine.Client.RaiseEventAsync(id, "restart", "now");
        await EngineHarness.WaitForCustomStatusAsync(engine, id, "second");
        slowGate.SetResult("stale");
        harness.Clock.Advance(TimeSpan.FromMinutes(10));
        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromMinutes(55));
        Assert.True((await engine.Client.GetInstanceAsync(id))!.IsRunning);

        await engine.Client.RaiseEventAsync(id, "decision", "approved");
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("decision:approved", result.ReadOutputAs<string>());
        Assert.Equal(1, result.ReadInputAs<int>());
    }

    [Fact]
    public async Task A_new_execution_carries_on_after_a_crash()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, int>("Counter", async (ctx, n) =>
            {
                ctx.SetCustomStatus($"at {n}");
                var add = await ctx.WaitForExternalEvent<int>("add");
                if (add == 0)
                {
                    return n;
                }

                ctx.ContinueAsNew(n + add);
                return -1;
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Counter", 0);
        await first.Client.RaiseEventAsync(id, "add", 5);
        await EngineHarness.WaitForCustomStatusAsync(first, id, "at 5");
        first.Kill();

        var second = await harness.StartAsync(registry);
        await second.Client.RaiseEventAsync(id, "add", 2);
        await EngineHarness.WaitForCustomStatusAsync(second, id, "at 7");
        await second.Client.RaiseEventAsync(id, "add", 0);

        var result = await EngineHarness.WaitForCompletionAsync(second, id);
        Assert.Equal(7, result.ReadOutputAs<int>());
    }

    [Fact]
    public async Task An_orchestrator_that_only_continues_as_new_fails_instead_of_spinning()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(new DurableTaskRegistry()
            .AddOrchestrator<int, int>("Spin", (ctx, n) =>
            {
                ctx.ContinueAsNew(n + 1);
                return Task.FromResult(0);
            }));

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Spin", 0);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("continued as new", result.FailureDetails!.ErrorMessage);
    }

    private static int HistoryLength(EngineHarness harness)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = harness.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM history";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
