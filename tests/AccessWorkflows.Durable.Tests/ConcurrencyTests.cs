using System.Collections.Concurrent;
using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

public sealed class ConcurrencyTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_thousand_concurrent_instances_all_complete(bool cached)
    {
        await using var harness = new EngineHarness();
        var activityRuns = 0;
        var registry = new DurableTaskRegistry()
            .AddActivity<int, int>("Double", (ctx, x, ct) =>
            {
                Interlocked.Increment(ref activityRuns);
                return Task.FromResult(x * 2);
            })
            .AddOrchestrator<int, int>("Doubler", async (ctx, x) =>
            {
                var doubled = await ctx.CallActivityAsync<int>("Double", x);
                return await ctx.CallActivityAsync<int>("Double", doubled);
            });
        var engine = await harness.StartAsync(registry, cached: cached);

        var ids = new List<string>();
        for (var i = 0; i < 1000; i++)
        {
            ids.Add(await engine.Client.ScheduleNewOrchestrationInstanceAsync("Doubler", i, new StartOrchestrationOptions($"n-{i}")));
        }

        var results = await Task.WhenAll(ids.Select(id => EngineHarness.WaitForCompletionAsync(engine, id)));

        Assert.All(results, r => Assert.Equal(OrchestrationRuntimeStatus.Completed, r.RuntimeStatus));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i * 4), results.Select(r => r.ReadOutputAs<int>()));
        Assert.Equal(2000, activityRuns);
    }

    [Fact]
    public async Task Steps_of_one_instance_never_overlap_while_many_instances_run_at_once()
    {
        await using var harness = new EngineHarness();
        var inside = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var globalInside = 0;
        var maxGlobal = 0;

        // The first slices of two instances meet here, inside their steps: proof that instances do run in parallel,
        // so the overlap check below watches a multi-threaded engine.
        using var twoAtOnce = new CountdownEvent(2);
        var arrivals = 0;
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, int>("Counter", async (ctx, events) =>
            {
                var sum = 0;
                for (var i = 0; i < events; i++)
                {
                    Enter();
                    sum += await ctx.WaitForExternalEvent<int>("add");
                }

                Enter();
                return sum;

                // Every slice of orchestrator code (between two awaits) marks the instance as running while it spins
                // a little: a second thread in the same instance would see the mark.
                void Enter()
                {
                    if (inside.AddOrUpdate(ctx.InstanceId, 1, (_, n) => n + 1) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    var global = Interlocked.Increment(ref globalInside);
                    int seen;
                    while ((seen = Volatile.Read(ref maxGlobal)) < global && Interlocked.CompareExchange(ref maxGlobal, global, seen) != seen)
                    {
                    }

                    if (!ctx.IsReplaying && Interlocked.Increment(ref arrivals) <= 2)
                    {
                        twoAtOnce.Signal();
                        twoAtOnce.Wait(EngineHarness.Patience);
                    }

                    Thread.SpinWait(2000);
                    Interlocked.Decrement(ref globalInside);
                    inside.AddOrUpdate(ctx.InstanceId, 0, (_, n) => n - 1);
                }
            });
        var engine = await harness.StartAsync(registry, maxOrchestrations: 8);
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await engine.Client.ScheduleNewOrchestrationInstanceAsync("Counter", 30));
        }

        // Events arrive from many threads at once, so every instance has new work while its step runs.
        await Parallel.ForEachAsync(
            Enumerable.Range(0, 30).SelectMany(_ => ids),
            new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (id, ct) => await engine.Client.RaiseEventAsync(id, "add", 1, ct));

        foreach (var id in ids)
        {
            Assert.Equal(30, (await EngineHarness.WaitForCompletionAsync(engine, id)).ReadOutputAs<int>());
        }

        Assert.Equal(0, overlaps);
        Assert.True(twoAtOnce.IsSet);
        Assert.True(maxGlobal > 1, "instances should have run in parallel");
    }
}
