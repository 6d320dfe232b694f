using System.Diagnostics;
using AccessWorkflows.Durable;
using AccessWorkflows.Durable.Embedded;

// A console harness (not BenchmarkDotNet: each scenario is one long measured run against a real SQLite file, and
// the whole harness must finish in well under two minutes on a shared 2-core machine).
//   dotnet run -c Release --project bench/AccessWorkflows.Durable.Benchmarks -- [--instances N] [--event-instances N]
//       [--events-per-instance N] [--timers N]
var settings = Settings.Parse(args);
Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {Environment.OSVersion}, .NET {Environment.Version}");

// Warm-up: JIT and SQLite's first opens would otherwise be charged to the first scenario.
await Scenarios.HelloSequence5Async(100);
await Scenarios.EventsAsync(5, 5);

// The build machines are shared: wall-clock rates depend on what else runs; CPU time per item does much less.
var cpu = Process.GetCurrentProcess().TotalProcessorTime;
var sequence = await Scenarios.HelloSequence5Async(settings.Instances);
var sequenceCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
Console.WriteLine($"HelloSequence5: {settings.Instances} orchestrations x 5 activities in {sequence.TotalSeconds:F2} s = {settings.Instances / sequence.TotalSeconds:F0} orchestrations/s ({settings.Instances * 5 / sequence.TotalSeconds:F0} activities/s); process CPU {sequenceCpu.TotalMilliseconds / settings.Instances:F2} ms per orchestration");

var events = settings.EventInstances * settings.EventsPerInstance;
cpu = Process.GetCurrentProcess().TotalProcessorTime;
var eventTime = await Scenarios.EventsAsync(settings.EventInstances, settings.EventsPerInstance);
var eventCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
Console.WriteLine($"Events: {events} events raised to {settings.EventInstances} waiting instances, all consumed in {eventTime.TotalSeconds:F2} s = {events / eventTime.TotalSeconds:F0} events/s; process CPU {eventCpu.TotalMilliseconds * 1000 / events:F0} us per event");

var lateness = await Scenarios.TimerLatenessAsync(settings.Timers);
Console.WriteLine($"Timer lateness ({settings.Timers} timers of 0.2-1.2 s, system clock): p50 {Scenarios.Percentile(lateness, 0.50):F1} ms, p99 {Scenarios.Percentile(lateness, 0.99):F1} ms, max {lateness.Max():F1} ms");

internal sealed record Settings(int Instances, int EventInstances, int EventsPerInstance, int Timers)
{
    public static Settings Parse(string[] args)
    {
        int Get(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
        }

        return new Settings(Get("--instances", 1000), Get("--event-instances", 50), Get("--events-per-instance", 40), Get("--timers", 300));
    }
}

internal static class Scenarios
{
    public static async Task<TimeSpan> HelloSequence5Async(int instances)
    {
        var registry = new DurableTaskRegistry()
            .AddActivity<string, string>("SayHello", (ctx, name, ct) => Task.FromResult($"Hello {name}!"))
            .AddOrchestrator<string, string>("HelloSequence5", async (ctx, name) =>
            {
                var parts = new List<string>();
                foreach (var city in new[] { "Tokyo", "Seattle", "London", "Paris", "Oslo" })
                {
                    parts.Add(await ctx.CallActivityAsync<string>("SayHello", $"{city} from {name}"));
                }

                return string.Join(" ", parts);
            });
        return await RunAsync(registry, async client =>
        {
            var ids = new List<string>(instances);
            for (var i = 0; i < instances; i++)
            {
                ids.Add(await client.ScheduleNewOrchestrationInstanceAsync("HelloSequence5", $"n{i}"));
            }

            return ids;
        });
    }

    public static async Task<TimeSpan> EventsAsync(int instances, int eventsPerInstance)
    {
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, int>("Collect", async (ctx, count) =>
            {
                var sum = 0;
                for (var i = 0; i < count; i++)
                {
                    sum += await ctx.WaitForExternalEvent<int>("Vote");
                }

                return sum;
            });
        return await RunAsync(registry, async client =>
        {
            var ids = new List<string>(instances);
            for (var i = 0; i < instances; i++)
            {
                ids.Add(await client.ScheduleNewOrchestrationInstanceAsync("Collect", eventsPerInstance));
            }

            await Parallel.ForEachAsync(
                Enumerable.Range(0, eventsPerInstance).SelectMany(_ => ids),
                new ParallelOptions { MaxDegreeOfParallelism = 2 },
                async (id, ct) => await client.RaiseEventAsync(id, "Vote", 1, ct));
            return ids;
        });
    }

    public static async Task<double[]> TimerLatenessAsync(int timers)
    {
        var registry = new DurableTaskRegistry()
            .AddOrchestrator<int, double>("Sleep", async (ctx, delayMs) =>
            {
                var due = ctx.CurrentUtcDateTime.AddMilliseconds(delayMs);
                await ctx.CreateTimer(due, CancellationToken.None);

                // CurrentUtcDateTime is now the start of the step the fired timer woke.
                return (ctx.CurrentUtcDateTime - due).TotalMilliseconds;
            });
        var lateness = new List<double>();
        await RunAsync(registry, async client =>
        {
            var random = new Random(42);
            var ids = new List<string>(timers);
            for (var i = 0; i < timers; i++)
            {
                ids.Add(await client.ScheduleNewOrchestrationInstanceAsync("Sleep", 200 + random.Next(1000)));
            }

            return ids;
        }, lateness);
        return [.. lateness];
    }

    public static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static async Task<TimeSpan> RunAsync(DurableTaskRegistry registry, Func<IDurableClient, Task<List<string>>> start, List<double>? outputs = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "aw-durable-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var engine = new DurableEngine(registry, new DurableEngineOptions { DatabasePath = Path.Combine(directory, "bench.db") });
            await using (engine)
            {
                await engine.StartAsync();
                var watch = Stopwatch.StartNew();
                var ids = await start(engine.Client);
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                var results = await Task.WhenAll(ids.Select(id => engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token)));
                watch.Stop();
                if (results.FirstOrDefault(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed) is { } failed)
                {
                    throw new InvalidOperationException($"{failed.InstanceId} ended {failed.RuntimeStatus}: {failed.FailureDetails}");
                }

                outputs?.AddRange(results.Select(r => r.ReadOutputAs<double>()));
                return watch.Elapsed;
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
