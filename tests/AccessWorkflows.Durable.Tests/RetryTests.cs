using System.Collections.Concurrent;
using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

public sealed class RetryTests
{
    [Fact]
    public async Task A_failing_activity_is_retried_after_durable_backoff_timers_until_it_succeeds()
    {
        await using var harness = new EngineHarness();
        var attempts = new ConcurrentQueue<(int Attempt, DateTimeOffset At)>();
        var registry = new DurableTaskRegistry()
            .AddActivity<int, string>("Flaky", (ctx, _, ct) =>
            {
                attempts.Enqueue((ctx.Attempt, harness.Clock.GetUtcNow()));
                return ctx.Attempt < 3 ? throw new InvalidOperationException($"attempt {ctx.Attempt}") : Task.FromResult("ok");
            })
            .AddOrchestrator<int, string>("Retrying", (ctx, _) => ctx.CallActivityAsync<string>(
                "Flaky",
                0,
                new TaskOptions(new RetryPolicy(maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(5), backoffCoefficient: 2))));
        var engine = await harness.StartAsync(registry);
        var start = harness.Clock.GetUtcNow();
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Retrying", 0);

        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromSeconds(5));
        harness.Clock.Advance(TimeSpan.FromSeconds(5));
        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromSeconds(10));
        harness.Clock.Advance(TimeSpan.FromSeconds(10));

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("ok", result.ReadOutputAs<string>());
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)], attempts.Select(a => a.At - start));
    }

    [Fact]
    public async Task The_last_failure_reaches_the_orchestrator_as_TaskFailedException_with_details()
    {
        await using var harness = new EngineHarness();
        var attempts = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, string>("Broken", (ctx, _, ct) =>
            {
                Interlocked.Increment(ref attempts);
                throw new InvalidOperationException("IAM throttled");
            })
            .AddOrchestrator<int, string>("Catching", async (ctx, _) =>
            {
                try
                {
                    return await ctx.CallActivityAsync<string>("Broken", 0, new TaskOptions(new RetryPolicy(2, TimeSpan.FromSeconds(1))));
                }
                catch (TaskFailedException ex)
                {
                    return $"{ex.TaskName}|{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}|{ex.FailureDetails.IsCausedBy<InvalidOperationException>()}";
                }
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Catching", 0);

        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromSeconds(1));
        harness.Clock.Advance(TimeSpan.FromSeconds(1));

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal("Broken|System.InvalidOperationException|IAM throttled|True", result.ReadOutputAs<string>());
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task An_unhandled_activity_failure_fails_the_instance_with_the_activity_failure_inside()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddActivity<int>("Broken", (ctx, _, ct) => throw new InvalidOperationException("denied"))
            .AddOrchestrator<int, int>("NotCatching", async (ctx, _) =>
            {
                await ctx.CallActivityAsync("Broken", 0);
                return 1;
            });
        var engine = await harness.StartAsync(registry);

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("NotCatching", 0);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(typeof(TaskFailedException).FullName, result.FailureDetails!.ErrorType);
        Assert.True(result.FailureDetails.IsCausedBy<InvalidOperationException>());
        Assert.Equal("denied", result.FailureDetails.InnerFailure!.ErrorMessage);
    }

    [Fact]
    public async Task HandleFailure_returning_false_stops_retrying_at_once()
    {
        await using var harness = new EngineHarness();
        var attempts = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Permanent", (ctx, _, ct) =>
            {
                Interlocked.Increment(ref attempts);
                throw new UnauthorizedAccessException("no permission");
            })
            .AddOrchestrator<int, string>("Selective", async (ctx, _) =>
            {
                var policy = new RetryPolicy(5, TimeSpan.FromSeconds(1))
                {
                    HandleFailure = failure => !failure.IsCausedBy<UnauthorizedAccessException>(),
                };
                try
                {
                    await ctx.CallActivityAsync<int>("Permanent", 0, new TaskOptions(policy));
                    return "succeeded";
                }
                catch (TaskFailedException ex)
                {
                    return ex.FailureDetails.ErrorMessage;
                }
            });
        var engine = await harness.StartAsync(registry);

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Selective", 0);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal("no permission", result.ReadOutputAs<string>());
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task RetryTimeout_stops_retries_that_would_start_after_it()
    {
        await using var harness = new EngineHarness();
        var attempts = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Broken", (ctx, _, ct) =>
            {
                Interlocked.Increment(ref attempts);
                throw new InvalidOperationException("down");
            })
            .AddOrchestrator<int, int>("Bounded", async (ctx, _) =>
            {
                try
                {
                    var policy = new RetryPolicy(10, TimeSpan.FromSeconds(10), retryTimeout: TimeSpan.FromSeconds(25));
                    await ctx.CallActivityAsync<int>("Broken", 0, new TaskOptions(policy));
                    return -1;
                }
                catch (TaskFailedException)
                {
                    return 0;
                }
            });
        var engine = await harness.StartAsync(registry);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Bounded", 0);

        // Attempts at 0 s, 10 s, 20 s; a fourth would start at 30 s, past the 25 s timeout.
        for (var i = 0; i < 2; i++)
        {
            await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromSeconds(10));
            harness.Clock.Advance(TimeSpan.FromSeconds(10));
        }

        var result = await EngineHarness.WaitForCompletionAsync(engine, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Calling_an_unregistered_activity_fails_the_call_not_the_engine()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, string>("CallsNobody", async (ctx, _) =>
            {
                try
                {
                    await ctx.CallActivityAsync("Missing", 0);
                    return "called";
                }
                catch (TaskFailedException ex)
                {
                    return ex.FailureDetails.ErrorMessage;
                }
            });
        var engine = await harness.StartAsync(registry);

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("CallsNobody", 0);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal("No activity named 'Missing' is registered with this engine.", result.ReadOutputAs<string>());
    }
}
