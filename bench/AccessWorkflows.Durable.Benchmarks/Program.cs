using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using AccessWorkflows.Durable;
using AccessWorkflows.Durable.Embedded;

// A console harness (not BenchmarkDotNet: each scenario is one long measured run against a real SQLite file on disk).
//   dotnet run -c Release --project bench/AccessWorkflows.Durable.Benchmarks -- [--only NAME] [--instances 1000]
//       [--event-instances 50] [--events-per-instance 40] [--single-events 1000] [--raise-concurrency 32]
//       [--burst 10000] [--burst-lead 10] [--sleepers 100000] [--rounds 1] [--folder PATH]
// Scenarios: sequence, events, burst, sleepers. Without --only, each runs in a child process of its own, so one's
// memory, JIT and threads do not colour the next one's figures (the sleepers' RSS above all). `--only events-single`
// and `--only events-many` run one half of the events scenario (1,000 x 1 or 50 x 40), to compare a change back to
// back; `--rounds N` measures it N times in the same process, on new instances each time.
var settings = Settings.Parse(args);
if (settings.Only is null)
{
    Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {Environment.OSVersion}, .NET {Environment.Version}, {Scenarios.Collector()}, database folder {settings.Folder}");
    foreach (var scenario in Settings.Scenarios)
    {
        var exit = await Child.RunAsync([.. args, "--only", scenario]);
        if (exit != 0)
        {
            Console.WriteLine($"{scenario}: the child process exited with {exit}");
            return exit;
        }
    }

    return 0;
}

switch (settings.Only)
{
    case "sequence":
        await Scenarios.SequenceAsync(settings);
        break;
    case "events" or "events-single" or "events-many":
        await Scenarios.EventsAsync(settings);
        break;
    case "burst":
        await Scenarios.TimerBurstAsync(settings);
        break;
    case "sleepers":
        await Scenarios.SleepersAsync(settings);
        break;
    default:
        Console.WriteLine($"unknown scenario {settings.Only}; one of {string.Join(", ", Settings.Scenarios)}");
        return 2;
}

return 0;

internal sealed record Settings(
    string? Only,
    int Instances,
    int EventInstances,
    int EventsPerInstance,
    int SingleEvents,
    int RaiseConcurrency,
    int Burst,
    int BurstLeadSeconds,
    int Sleepers,
    int Rounds,
    string Folder)
{
    public static readonly string[] Scenarios = ["sequence", "events", "burst", "sleepers"];

    public static Settings Parse(string[] args)
    {
        string? Text(string name)
        {
            var i = Array.LastIndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int Get(string name, int fallback) => Text(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

        return new Settings(
            Text("--only"),
            Get("--instances", 1000),
            Get("--event-instances", 50),
            Get("--events-per-instance", 40),
            Get("--single-events", 1000),
            Get("--raise-concurrency", 32),
            Get("--burst", 10_000),
            Get("--burst-lead", 10),
            Get("--sleepers", 100_000),
            Get("--rounds", 1),
            Text("--folder") ?? Path.Combine(Path.GetTempPath(), "aw-durable-bench"));
    }
}

internal static class Child
{
    public static async Task<int> RunAsync(string[] args)
    {
        // `dotnet run` starts the apphost; `dotnet bench.dll` starts dotnet, which needs the assembly first.
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Child).Assembly.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start)!;
        await child.WaitForExitAsync();
        return child.ExitCode;
    }
}

/// <summary>What a figure was measured beside: the machine's load average (1 min) and this process's CPU time.</summary>
internal sealed class Measure
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;

    public TimeSpan Elapsed => _watch.Elapsed;

    public TimeSpan Cpu => Process.GetCurrentProcess().TotalProcessorTime - _cpu;

    public static string Load()
    {
        try
        {
            return "load " + File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "load n/a";
        }
    }
}

internal static class Scenarios
{
    private static readonly string[] Cities = ["Tokyo", "Seattle", "London", "Paris", "Oslo"];

    /// <summary>Warm-up passes of the events scenario at most: the JIT settles well before (see EventsAsync).</summary>
    private const int MaxWarmUpPasses = 100;

    public static DurableTaskRegistry Registry() => new DurableTaskRegistry()
        .AddActivity<string, string>("SayHello", (ctx, name, ct) => Task.FromResult($"Hello {name}!"))
        .AddOrchestrator<string, string>("HelloSequence5", async (ctx, name) =>
        {
            var parts = new List<string>();
            foreach (var city in Cities)
            {
                parts.Add(await ctx.CallActivityAsync<string>("SayHello", $"{city} from {name}"));
            }

            return string.Join(" ", parts);
        })
        .AddOrchestrator<int, int>("Collect", async (ctx, count) =>
        {
            var sum = 0;
            for (var i = 0; i < count; i++)
            {
                sum += await ctx.WaitForExternalEvent<int>("Vote");
            }

            return sum;
        })
        .AddOrchestrator<long, double>("SleepUntil", async (ctx, dueTicks) =>
        {
            // The output is the lateness: the start of the step the fired timer woke (CurrentUtcDateTime) minus the
            // due time. An instance whose first step came after the due time says so with a negative sign.
            var due = new DateTime(dueTicks, DateTimeKind.Utc);
            if (ctx.CurrentUtcDateTime > due)
            {
                return -1;
            }

            await ctx.CreateTimer(due, CancellationToken.None);
            return (ctx.CurrentUtcDateTime - due).TotalMilliseconds;
        });

    public static async Task SequenceAsync(Settings settings)
    {
        await using var db = new Database(settings);
        await using (var warm = await db.StartAsync())
        {
            await RunSequenceAsync(warm.Client, 100, settings.RaiseConcurrency, "warm");
        }

        await using var engine = await db.StartAsync();
        var measure = new Measure();
        await RunSequenceAsync(engine.Client, settings.Instances, settings.RaiseConcurrency, "seq");
        var n = settings.Instances;
        Console.WriteLine($"HelloSequence5: {n} orchestrations x 5 activities, started by {settings.RaiseConcurrency} concurrent callers, in {measure.Elapsed.TotalSeconds:F2} s = {n / measure.Elapsed.TotalSeconds:F0} orchestrations/s ({n * 5 / measure.Elapsed.TotalSeconds:F0} activities/s); CPU {measure.Cpu.TotalMilliseconds / n:F2} ms per orchestration [{Measure.Load()}]");
    }

    public static async Task EventsAsync(Settings settings)
    {
        var shapes = new List<(int Instances, int Each)>();
        if (settings.Only != "events-many")
        {
            shapes.Add((settings.SingleEvents, 1));
        }

        if (settings.Only != "events-single")
        {
            shapes.Add((settings.EventInstances, settings.EventsPerInstance));
        }

        await using var db = new Database(settings);
        await using (var warm = await db.StartAsync())
        {
            // Not counted: rounds of the measured shapes until three passes in a row made the JIT compile nothing. A
            // round lasts about a tenth of a second, less than tiered compilation takes to move the hot paths through
            // their instrumented tier to the optimised one (measured: 20-25 rounds, at about half the rate of the
            // settled code), so a round after a fixed short warm-up measures the JIT, not the engine. One quiet pass is
            // not enough: the runtime waits 100 ms without new compilations before it counts calls again.
            var passes = 0;
            var quietPasses = 0;
            while (quietPasses < 3 && passes < MaxWarmUpPasses)
            {
                var before = JitInfo.GetCompiledMethodCount();
                foreach (var (instances, each) in shapes)
                {
                    var measured = await RunEventsAsync(warm.Client, instances, each, settings.RaiseConcurrency, $"warm{passes}-{instances}x{each}");
                    if (passes == 0)
                    {
                        Report(instances, each, measured, "first round, cold, not counted: ");
                    }
                }

                quietPasses = JitInfo.GetCompiledMethodCount() == before ? quietPasses + 1 : 0;
                passes++;
            }

            Console.WriteLine($"Events: warm-up, not counted: {passes} passes of {string.Join(" and ", shapes.Select(s => $"{s.Instances} x {s.Each}"))}, the last {quietPasses} compiling nothing [{Measure.Load()}]");
        }

        await using var engine = await db.StartAsync();
        foreach (var (instances, each, round) in shapes.SelectMany(s => Enumerable.Range(0, settings.Rounds).Select(r => (s.Instances, s.Each, r))))
        {
            Report(instances, each, await RunEventsAsync(engine.Client, instances, each, settings.RaiseConcurrency, $"ev{instances}x{each}r{round}"), string.Empty);
        }

        void Report(int instances, int each, (TimeSpan Elapsed, TimeSpan Cpu) measured, string label)
        {
            var events = instances * each;
            Console.WriteLine($"Events: {label}{instances} waiting instances x {each} event(s), raised by {settings.RaiseConcurrency} concurrent callers, all consumed in {measured.Elapsed.TotalSeconds:F3} s = {events / measured.Elapsed.TotalSeconds:F0} events/s; CPU {measured.Cpu.TotalMilliseconds * 1000 / events:F0} us per event [{Measure.Load()}]");
        }
    }

    public static async Task TimerBurstAsync(Settings settings)
    {
        await using var db = new Database(settings);
        await using var engine = await db.StartAsync();
        var due = DateTime.UtcNow.AddSeconds(settings.BurstLeadSeconds);
        var scheduling = new Measure();
        var ids = await ScheduleAsync(engine.Client, settings.Burst, i => ("SleepUntil", due.Ticks, $"burst-{i}"), settings.RaiseConcurrency);
        var scheduled = scheduling.Elapsed;
        var results = await WaitAllAsync(engine.Client, ids);
        var lateness = results.Select(r => r.ReadOutputAs<double>()).ToArray();
        var tooLate = lateness.Count(l => l < 0);
        var fired = lateness.Where(l => l >= 0).ToArray();
        Console.WriteLine($"Timer burst: {settings.Burst} durable timers due at the same instant (scheduled in {scheduled.TotalSeconds:F1} s of a {settings.BurstLeadSeconds} s lead{(tooLate > 0 ? $"; {tooLate} started after the due time, not counted: raise --burst-lead" : string.Empty)}): lateness p50 {Percentile(fired, 0.50):F0} ms, p99 {Percentile(fired, 0.99):F0} ms, max {fired.Max():F0} ms [{Measure.Load()}]");
    }

    public static async Task SleepersAsync(Settings settings)
    {
        await using var db = new Database(settings);
        var farAway = DateTime.UtcNow.AddDays(1).Ticks;
        var engine = await db.StartAsync();
        await RunSequenceAsync(engine.Client, 50, settings.RaiseConcurrency, "warm");
        var sleeping = 0;
        foreach (var target in new[] { 0, settings.Sleepers / 10, settings.Sleepers })
        {
            if (target > sleeping)
            {
                var adding = new Measure();
                var ids = await ScheduleAsync(engine.Client, target - sleeping, i => ("SleepUntil", farAway, $"sleeper-{sleeping + i}"), settings.RaiseConcurrency);
                await WaitUntilNonePendingAsync(engine.Client);
                Console.WriteLine($"Sleepers: {ids.Count} more instances asleep on a durable timer in {adding.Elapsed.TotalSeconds:F1} s ({ids.Count / adding.Elapsed.TotalSeconds:F0}/s) [{Measure.Load()}]");
                sleeping = target;
            }

            var latencies = await LatenciesAsync(engine.Client, 50);
            Console.WriteLine($"Sleepers: {sleeping} asleep; a new HelloSequence5 request, one at a time: latency p50 {Percentile(latencies, 0.5):F1} ms, p99 {Percentile(latencies, 0.99):F1} ms [{Measure.Load()}]");
            Console.WriteLine($"Sleepers: {sleeping} asleep: {Memory()} [{Measure.Load()}]");
        }

        await engine.DisposeAsync();

        // Restart to resumed: a new engine on the same file, until its first new request has completed.
        var restart = new Measure();
        engine = await db.StartAsync();
        var first = await LatenciesAsync(engine.Client, 1);
        var resumed = restart.Elapsed;
        var after = await LatenciesAsync(engine.Client, 50);
        Console.WriteLine($"Sleepers: restart with {sleeping} asleep to the first new request completed: {resumed.TotalMilliseconds:F0} ms (that request {first[0]:F1} ms); then latency p50 {Percentile(after, 0.5):F1} ms, p99 {Percentile(after, 0.99):F1} ms; {Memory()} [{Measure.Load()}]");
        await engine.DisposeAsync();
    }

    /// <summary>The process's memory after full collections: RSS, the live managed heap, and what the garbage collector
    /// keeps committed beyond it. Under the workstation collector that is its gen0 budget above all, which .NET sizes
    /// from the largest CPU cache the OS reports (6 MiB at most by default, far more on some hosts, what
    /// <c>DOTNET_GCgen0size</c> says when that is set); the server collector's DATAS sizes it from the live heap.</summary>
    private static string Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var info = GC.GetGCMemoryInfo();
        using var self = Process.GetCurrentProcess();
        var budget = GCSettings.IsServerGC ? string.Empty : $" (gen0 budget up to {GcSetting("GCGen0MaxBudget") / 1024.0 / 1024:F0} MB)";
        return $"RSS {self.WorkingSet64 / 1024.0 / 1024:F0} MB, managed heap {GC.GetTotalMemory(false) / 1024.0 / 1024:F0} MB, GC committed {info.TotalCommittedBytes / 1024.0 / 1024:F0} MB{budget}";
    }

    /// <summary>Which garbage collector the scenarios run under.</summary>
    public static string Collector()
        => GCSettings.IsServerGC
            ? $"server GC (DATAS {(GcSetting("GCDynamicAdaptationMode") == 1 ? "on" : "off")})"
            : "workstation GC";

    /// <summary>A setting as the garbage collector took it (from runtimeconfig, the environment or its own default).</summary>
    private static long GcSetting(string name)
        => GC.GetConfigurationVariables().TryGetValue(name, out var value) ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;

    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static async Task RunSequenceAsync(IDurableClient client, int instances, int concurrency, string prefix)
    {
        var ids = await ScheduleAsync(client, instances, i => ("HelloSequence5", $"n{i}", $"{prefix}-{i}"), concurrency);
        await WaitAllAsync(client, ids);
    }

    private static async Task<(TimeSpan Elapsed, TimeSpan Cpu)> RunEventsAsync(IDurableClient client, int instances, int each, int concurrency, string prefix)
    {
        var ids = await ScheduleAsync(client, instances, i => ("Collect", each, $"{prefix}-{i}"), concurrency);
        await WaitUntilNonePendingAsync(client);
        var measure = new Measure();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, each).SelectMany(_ => ids),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency },
            async (id, ct) => await client.RaiseEventAsync(id, "Vote", 1, ct));
        var results = await WaitAllAsync(client, ids);
        if (results.Any(r => r.ReadOutputAs<int>() != each))
        {
            throw new InvalidOperationException("an instance missed events");
        }

        return (measure.Elapsed, measure.Cpu);
    }

    private static async Task<List<double>> LatenciesAsync(IDurableClient client, int count)
    {
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            var id = await client.ScheduleNewOrchestrationInstanceAsync("HelloSequence5", "latency");
            await WaitAllAsync(client, [id]);
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }

        return latencies;
    }

    private static async Task<List<string>> ScheduleAsync(IDurableClient client, int count, Func<int, (string Name, object Input, string Id)> instance, int concurrency)
    {
        var ids = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            var (name, input, id) = instance(i);
            ids[i] = await client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(id), ct);
        });
        return [.. ids];
    }

    private static async Task<OrchestrationMetadata[]> WaitAllAsync(IDurableClient client, IEnumerable<string> ids)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var results = await Task.WhenAll(ids.Select(id => client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token)));
        if (results.FirstOrDefault(r => r.RuntimeStatus != OrchestrationRuntimeStatus.Completed) is { } failed)
        {
            throw new InvalidOperationException($"{failed.InstanceId} ended {failed.RuntimeStatus}: {failed.FailureDetails}");
        }

        return results;
    }

    /// <summary>Until every instance has run its first step (a pending instance has not).</summary>
    private static async Task WaitUntilNonePendingAsync(IDurableClient client)
    {
        var query = new OrchestrationQuery([OrchestrationRuntimeStatus.Pending], PageSize: 1);
        while (await client.GetAllInstancesAsync(query).AnyAsync())
        {
            await Task.Delay(20);
        }
    }
}

/// <summary>A fresh database file, deleted at the end, and the engines a scenario starts on it one after another.</summary>
internal sealed class Database(Settings settings) : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(settings.Folder, Guid.NewGuid().ToString("N"));

    public async Task<DurableEngine> StartAsync()
    {
        Directory.CreateDirectory(_directory);
        var engine = new DurableEngine(Scenarios.Registry(), new DurableEngineOptions { DatabasePath = Path.Combine(_directory, "bench.db") });
        await engine.StartAsync();
        return engine;
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
