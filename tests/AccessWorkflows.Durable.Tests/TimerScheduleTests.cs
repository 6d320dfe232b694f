using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

/// <summary>The engine holds only a page of timers in memory (the earliest); the rest wait in the database for their
/// page. None may be lost or fire late because of that, on a running engine that trimmed its page or on one that
/// started on a file full of sleeping instances.</summary>
public sealed class TimerScheduleTests
{
    private const int Sleepers = 24;
    private const int PageSize = 4;

    [Fact]
    public async Task Timers_beyond_the_page_in_memory_fire_on_time_before_and_after_a_restart()
    {
        await using var harness = new EngineHarness();
        var start = harness.Clock.GetUtcNow().UtcDateTime;
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, double>("SleepMinutes", async (ctx, minutes) =>
            {
                var due = start.AddMinutes(minutes);
                await ctx.CreateTimer(due, CancellationToken.None);
                return (ctx.CurrentUtcDateTime - due).TotalMinutes;
            });
        var first = await harness.StartAsync(registry, timerPageSize: PageSize);

        // Scheduled out of order, so the page held in memory is trimmed and refilled rather than filled in order.
        var minutes = Enumerable.Range(1, Sleepers).OrderBy(m => (m * 7) % Sleepers).ToList();
        foreach (var m in minutes)
        {
            await first.Client.ScheduleNewOrchestrationInstanceAsync("SleepMinutes", m, new StartOrchestrationOptions($"sleeper-{m}"));
        }

        foreach (var m in minutes)
        {
            await EngineHarness.WaitForStateAsync(first, $"sleeper-{m}", s => s.RuntimeStatus == OrchestrationRuntimeStatus.Running);
        }

        // Half fire on the engine that scheduled them; the rest on a new engine that reads them a page at a time.
        var engine = first;
        for (var minute = 1; minute <= Sleepers; minute++)
        {
            if (minute == (Sleepers / 2) + 1)
            {
                first.Kill();
                engine = await harness.StartAsync(registry, timerPageSize: PageSize);
            }

            harness.Clock.Advance(TimeSpan.FromMinutes(1));
            var woke = await EngineHarness.WaitForCompletionAsync(engine, $"sleeper-{minute}");
            Assert.Equal(0, woke.ReadOutputAs<double>());
            if (minute < Sleepers)
            {
                Assert.True((await engine.Client.GetInstanceAsync($"sleeper-{minute + 1}"))!.IsRunning);
            }
        }
    }
}
