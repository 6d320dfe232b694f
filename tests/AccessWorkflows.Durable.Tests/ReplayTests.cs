using System.Collections.Concurrent;
using AccessWorkflows.Durable.Embedded;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Durable.Tests;

public sealed class ReplayTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Completed_activities_are_replayed_from_history_not_executed_again(bool cached)
    {
        await using var harness = new EngineHarness();
        var executions = new ConcurrentDictionary<string, int>();
        var orchestratorRuns = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<string, string>("Hello", (ctx, name, ct) =>
            {
                executions.AddOrUpdate(name, 1, (_, n) => n + 1);
                return Task.FromResult($"Hello {name}");
            })
            .AddOrchestrator<string, string>("Sequence", async (ctx, prefix) =>
            {
                Interlocked.Increment(ref orchestratorRuns);
                var a = await ctx.CallActivityAsync<string>("Hello", $"{prefix}-1");
                var b = await ctx.CallActivityAsync<string>("Hello", $"{prefix}-2");
                var c = await ctx.CallActivityAsync<string>("hello", $"{prefix}-3");
                return string.Join(", ", a, b, c);
            });
        var engine = await harness.StartAsync(registry, cached: cached);

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Sequence", "x");
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("Hello x-1, Hello x-2, Hello x-3", result.ReadOutputAs<string>());
        Assert.Equal(1, executions["x-1"]);
        Assert.Equal(1, executions["x-2"]);
        Assert.Equal(1, executions["x-3"]);

        // Uncached, one run per step: start, then one after each of the three results; each re-ran the earlier ones
        // from history. Cached, the first run carries on step after step.
        Assert.Equal(cached ? 1 : 4, orchestratorRuns);
        Assert.Equal("x", result.ReadInputAs<string>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NewGuid_and_CurrentUtcDateTime_are_stable_across_replays(bool cached)
    {
        await using var harness = new EngineHarness();
        var firstGuids = new ConcurrentBag<Guid>();
        var firstTimes = new ConcurrentBag<DateTime>();
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Echo", (ctx, x, ct) => Task.FromResult(x))
            .AddOrchestrator<int, Guid[]>("Guids", async (ctx, _) =>
            {
                var g1 = ctx.NewGuid();
                firstGuids.Add(g1);
                firstTimes.Add(ctx.CurrentUtcDateTime);
                await ctx.WaitForExternalEvent<int>("next");
                var g2 = ctx.NewGuid();
                await ctx.CallActivityAsync<int>("Echo", 1);
                return [g1, g2, ctx.NewGuid()];
            });
        var engine = await harness.StartAsync(registry, cached: cached);
        var startedAt = harness.Clock.GetUtcNow().UtcDateTime;

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Guids", 0);
        await EngineHarness.WaitForStateAsync(engine, id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);
        harness.Clock.Advance(TimeSpan.FromMinutes(5));
        await engine.Client.RaiseEventAsync(id, "next", 1);
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        var guids = result.ReadOutputAs<Guid[]>()!;
        Assert.Equal(3, guids.Distinct().Count());
        Assert.All(guids, g => Assert.Equal(5, g.Version));
        Assert.Equal(cached ? 1 : 3, firstGuids.Count);
        Assert.All(firstGuids, g => Assert.Equal(guids[0], g));
        Assert.All(firstTimes, t => Assert.Equal(startedAt, t));
    }

    [Fact]
    public async Task The_replay_safe_logger_writes_each_line_once()
    {
        await using var harness = new EngineHarness();
        var lines = new ConcurrentQueue<string>();
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Echo", (ctx, x, ct) => Task.FromResult(x))
            .AddOrchestrator<int, int>("Logging", async (ctx, _) =>
            {
                var log = ctx.CreateReplaySafeLogger("test");
                log.LogInformation("first");
                await ctx.CallActivityAsync<int>("Echo", 1);
                log.LogInformation("second");
                await ctx.CallActivityAsync<int>("Echo", 2);
                log.LogInformation("third");
                return 0;
            });
        var engine = new DurableEngine(
            registry,
            new DurableEngineOptions { DatabasePath = harness.DatabasePath, TimeProvider = harness.Clock, InstanceCacheBytes = 0 },
            new CapturingLoggerFactory(lines));
        await engine.StartAsync();
        try
        {
            var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Logging", 0);
            await EngineHarness.WaitForCompletionAsync(engine, id);
        }
        finally
        {
            await engine.DisposeAsync();
        }

        Assert.Equal(["first", "second", "third"], lines.Where(l => l.StartsWith("test:", StringComparison.Ordinal)).Select(l => l[5..]));
    }

    [Fact]
    public async Task Code_that_no_longer_matches_its_history_fails_the_instance_as_non_deterministic()
    {
        await using var harness = new EngineHarness();
        var registryV1 = new DurableTaskRegistry()
            .AddActivity<int, int>("A", (ctx, x, ct) => Task.FromResult(x))
            .AddActivity<int, int>("B", (ctx, x, ct) => Task.FromResult(x))
            .AddOrchestrator<int, int>("Flow", async (ctx, _) =>
            {
                await ctx.CallActivityAsync<int>("A", 1);
                ctx.SetCustomStatus("waiting");
                return await ctx.WaitForExternalEvent<int>("go");
            });
        var v1 = await harness.StartAsync(registryV1);
        var activityChanged = await v1.Client.ScheduleNewOrchestrationInstanceAsync("Flow", 0);
        var timerInstead = await v1.Client.ScheduleNewOrchestrationInstanceAsync("Flow", 0);
        await EngineHarness.WaitForCustomStatusAsync(v1, activityChanged, "waiting");
        await EngineHarness.WaitForCustomStatusAsync(v1, timerInstead, "waiting");
        await v1.StopAsync();

        var registryV2 = new DurableTaskRegistry()
            .AddActivity<int, int>("A", (ctx, x, ct) => Task.FromResult(x))
            .AddActivity<int, int>("B", (ctx, x, ct) => Task.FromResult(x))
            .AddOrchestrator<int, int>("Flow", async (ctx, _) =>
            {
                if (ctx.InstanceId == activityChanged)
                {
                    await ctx.CallActivityAsync<int>("B", 1);
                }
                else
                {
                    await ctx.CreateTimer(TimeSpan.FromMinutes(1), CancellationToken.None);
                }

                return await ctx.WaitForExternalEvent<int>("go");
            });
        var v2 = await harness.StartAsync(registryV2);
        await v2.Client.RaiseEventAsync(activityChanged, "go", 1);
        await v2.Client.RaiseEventAsync(timerInstead, "go", 1);

        var changed = await EngineHarness.WaitForCompletionAsync(v2, activityChanged);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, changed.RuntimeStatus);
        Assert.True(changed.FailureDetails!.IsCausedBy<NonDeterministicOrchestrationException>());
        Assert.Contains("history recorded a call of activity 'A'", changed.FailureDetails.ErrorMessage);
        Assert.Contains("code now makes a call of activity 'B'", changed.FailureDetails.ErrorMessage);

        var timer = await EngineHarness.WaitForCompletionAsync(v2, timerInstead);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, timer.RuntimeStatus);
        Assert.Contains("history recorded a call of activity 'A' but the code now makes a durable timer", timer.FailureDetails!.ErrorMessage);
    }

    [Fact]
    public async Task Code_that_drops_a_recorded_call_is_non_deterministic()
    {
        await using var harness = new EngineHarness();
        var v1 = await harness.StartAsync(new DurableTaskRegistry()
            .AddActivity<int, int>("A", (ctx, x, ct) => Task.FromResult(x))
            .AddOrchestrator<int, int>("Flow", async (ctx, _) =>
            {
                await ctx.CallActivityAsync<int>("A", 1);
                ctx.SetCustomStatus("waiting");
                return await ctx.WaitForExternalEvent<int>("go");
            }));
        var id = await v1.Client.ScheduleNewOrchestrationInstanceAsync("Flow", 0);
        await EngineHarness.WaitForCustomStatusAsync(v1, id, "waiting");
        await v1.StopAsync();

        var v2 = await harness.StartAsync(new DurableTaskRegistry()
            .AddOrchestrator<int, int>("Flow", (ctx, _) => ctx.WaitForExternalEvent<int>("go")));
        await v2.Client.RaiseEventAsync(id, "go", 1);

        var result = await EngineHarness.WaitForCompletionAsync(v2, id);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("the history recorded a call of activity 'A' at sequence #0 but the code no longer makes it", result.FailureDetails!.ErrorMessage);
    }

    [Fact]
    public async Task An_unhandled_orchestrator_exception_fails_the_instance_with_its_details()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(new DurableTaskRegistry()
            .AddOrchestrator("Throws", ctx => throw new ArgumentException("bad input")));

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Throws");
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(typeof(ArgumentException).FullName, result.FailureDetails!.ErrorType);
        Assert.Equal("bad input", result.FailureDetails.ErrorMessage);
    }

    [Fact]
    public async Task An_unregistered_orchestrator_fails_the_instance()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(new DurableTaskRegistry());

        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Nobody");
        var result = await EngineHarness.WaitForCompletionAsync(engine, id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("No orchestrator named 'Nobody'", result.FailureDetails!.ErrorMessage);
    }

    private sealed class CapturingLoggerFactory(ConcurrentQueue<string> lines) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Capturing(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
                => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => lines.Enqueue($"{category}:{formatter(state, exception)}");
        }
    }
}
