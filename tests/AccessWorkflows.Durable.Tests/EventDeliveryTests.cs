using System.Globalization;
using AccessWorkflows.Durable.Embedded;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Durable.Tests;

/// <summary>External events through the client: each acknowledged raise is consumed exactly once, in the order the
/// raises were acknowledged, also when one step consumes many of them at once and when the engine dies between.</summary>
public sealed class EventDeliveryTests
{
    private const int Events = 40;

    private static DurableTaskRegistry Registry() => new DurableTaskRegistry()
        .AddOrchestrator<int, List<int>>("Collect", async (ctx, count) =>
        {
            var received = new List<int>();
            ctx.SetCustomStatus(received.Count);
            while (received.Count < count)
            {
                received.Add(await ctx.WaitForExternalEvent<int>("n"));
                ctx.SetCustomStatus(received.Count);
            }

            return received;
        });

    [Fact]
    public async Task Events_consumed_many_to_a_step_keep_their_order_and_each_arrives_once_across_a_kill()
    {
        await using var harness = new EngineHarness();
        var first = await harness.StartAsync(Registry());
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Collect", Events);
        await EngineHarness.WaitForStateAsync(first, id, s => s.IsRunning);

        // Acknowledged one after another on an engine that then dies, whatever it had consumed of them by then.
        for (var n = 1; n <= 5; n++)
        {
            await first.Client.RaiseEventAsync(id, "n", n);
        }

        first.Kill();

        // Acknowledged while no engine runs: the next one finds ten waiting and hands them to one step.
        var second = harness.Create(Registry());
        for (var n = 6; n <= 15; n++)
        {
            await second.Client.RaiseEventAsync(id, "n", n);
        }

        await second.StartAsync();

        // The rest all at once: their order is whichever commit came first, but each must arrive once.
        await Task.WhenAll(Enumerable.Range(16, Events - 15).Select(n => second.Client.RaiseEventAsync(id, "n", n)));

        var received = (await EngineHarness.WaitForCompletionAsync(second, id)).ReadOutputAs<List<int>>()!;
        Assert.Equal(Enumerable.Range(1, 15), received.Take(15));
        Assert.Equal(Enumerable.Range(1, Events), received.Order());
        Assert.True(LongestRunOfEventsInOneStep(harness, id) >= 10, "the events raised while no engine ran were not consumed by one step");
    }

    [Fact]
    public async Task A_raise_acknowledged_to_a_pending_instance_waits_for_its_start_and_one_to_a_finished_instance_writes_nothing()
    {
        await using var harness = new EngineHarness();
        var engine = await harness.StartAsync(Registry());
        var startAt = harness.Clock.GetUtcNow().AddMinutes(5);
        var pending = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Collect", 2, new StartOrchestrationOptions(StartAt: startAt));
        await engine.Client.RaiseEventAsync(pending, "n", 1);
        await engine.Client.RaiseEventAsync(pending, "n", 2);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await engine.Client.GetInstanceAsync(pending))!.RuntimeStatus);

        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromMinutes(5));
        harness.Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal([1, 2], (await EngineHarness.WaitForCompletionAsync(engine, pending)).ReadOutputAs<List<int>>());

        await engine.Client.RaiseEventAsync(pending, "n", 3);
        await engine.Client.RaiseEventAsync("no-such-instance", "n", 4);
        Assert.Equal(0, Count(harness, "SELECT COUNT(*) FROM messages"));
    }

    [Fact]
    public async Task A_database_with_the_earlier_timer_index_gets_the_timers_only_index_and_its_timers_fire()
    {
        await using var harness = new EngineHarness();
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, string>("Sleep", async (ctx, _) =>
            {
                await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddHours(1), CancellationToken.None);
                return "woke";
            });
        var first = await harness.StartAsync(registry);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Sleep", 0);
        await EngineHarness.WaitForStateAsync(first, id, s => s.IsRunning);
        first.Kill();

        // What earlier versions left: every message in a plain index on fire_at.
        Execute(harness, "DROP INDEX ix_messages_timers; CREATE INDEX ix_messages_fire ON messages(fire_at);");

        var second = await harness.StartAsync(registry);
        Assert.Equal(0, Count(harness, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_messages_fire'"));
        Assert.Equal(1, Count(harness, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_messages_timers' AND sql LIKE '%WHERE fire_at > 0'"));

        await harness.Clock.WaitForTimerWithinAsync(TimeSpan.FromHours(1));
        harness.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("woke", (await EngineHarness.WaitForCompletionAsync(second, id)).ReadOutputAs<string>());
    }

    /// <summary>The most EventRaised entries one step appended to the instance's history.</summary>
    private static int LongestRunOfEventsInOneStep(EngineHarness harness, string instanceId)
    {
        using var connection = Open(harness);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type FROM history WHERE instance_id = $id ORDER BY seq";
        command.Parameters.AddWithValue("$id", instanceId);
        using var reader = command.ExecuteReader();
        int longest = 0, run = 0;
        while (reader.Read())
        {
            switch ((HistoryEventType)reader.GetInt32(0))
            {
                case HistoryEventType.OrchestratorStarted:
                    run = 0;
                    break;
                case HistoryEventType.EventRaised:
                    longest = Math.Max(longest, ++run);
                    break;
            }
        }

        return longest;
    }

    private static int Count(EngineHarness harness, string sql)
    {
        using var connection = Open(harness);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(EngineHarness harness, string sql)
    {
        using var connection = Open(harness);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteConnection Open(EngineHarness harness)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = harness.DatabasePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
