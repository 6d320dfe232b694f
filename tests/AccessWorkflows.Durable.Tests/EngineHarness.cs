using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

/// <summary>
/// One temporary database file, one manual clock, and the engines a test runs on them (several when a test kills
/// one and starts the next on the same file).
/// </summary>
public sealed class EngineHarness : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "aw-durable-tests", Guid.NewGuid().ToString("N"));
    private readonly List<DurableEngine> _engines = [];

    public EngineHarness()
    {
        Directory.CreateDirectory(_directory);
        DatabasePath = Path.Combine(_directory, "durable.db");
    }

    /// <summary>Every wait of a test gives up after this: a hang fails the test instead of the run.</summary>
    public static TimeSpan Patience { get; } = TimeSpan.FromSeconds(20);

    public string DatabasePath { get; }

    public ManualTimeProvider Clock { get; } = new();

    /// <summary>An engine on the harness's file and clock. <paramref name="cached"/> false turns the instance cache off,
    /// so that every step replays its instance's history from the database.</summary>
    public DurableEngine Create(DurableTaskRegistry registry, int maxOrchestrations = 4, int maxActivities = 8, bool cached = true, int timerPageSize = 10_000)
    {
        var engine = new DurableEngine(registry, new DurableEngineOptions
        {
            DatabasePath = DatabasePath,
            TimeProvider = Clock,
            MaxConcurrentOrchestrations = maxOrchestrations,
            MaxConcurrentActivities = maxActivities,
            InstanceCacheBytes = cached ? new DurableEngineOptions().InstanceCacheBytes : 0,
            TimerPageSize = timerPageSize,
        });
        _engines.Add(engine);
        return engine;
    }

    public async Task<DurableEngine> StartAsync(DurableTaskRegistry registry, int maxOrchestrations = 4, int maxActivities = 8, bool cached = true, int timerPageSize = 10_000)
    {
        var engine = Create(registry, maxOrchestrations, maxActivities, cached, timerPageSize);
        await engine.StartAsync();
        return engine;
    }

    public static CancellationToken Timeout() => new CancellationTokenSource(Patience).Token;

    public static async Task<OrchestrationMetadata> WaitForCompletionAsync(DurableEngine engine, string instanceId)
        => await engine.Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, Timeout());

    /// <summary>Waits until a committed step leaves the instance in a state that satisfies <paramref name="condition"/>.</summary>
    public static async Task<OrchestrationMetadata> WaitForStateAsync(DurableEngine engine, string instanceId, Func<OrchestrationMetadata, bool> condition)
    {
        var stepped = new SemaphoreSlim(0);
        void OnStep(string id)
        {
            if (id == instanceId)
            {
                stepped.Release();
            }
        }

        engine.StepCommitted += OnStep;
        try
        {
            var timeout = Timeout();
            while (true)
            {
                var state = await engine.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, timeout);
                if (state is not null && condition(state))
                {
                    return state;
                }

                await stepped.WaitAsync(timeout);
            }
        }
        finally
        {
            engine.StepCommitted -= OnStep;
        }
    }

    public static Task<OrchestrationMetadata> WaitForCustomStatusAsync(DurableEngine engine, string instanceId, string customStatus)
        => WaitForStateAsync(engine, instanceId, m => m.ReadCustomStatusAs<string>() == customStatus);

    public async ValueTask DisposeAsync()
    {
        foreach (var engine in _engines)
        {
            // Activities blocked on test gates honour the token, which a timed-out stop cancels.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await engine.StopAsync(stop.Token);
            await engine.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A killed engine's abandoned thread may still hold the file for a moment; the temp folder is disposable.
        }
    }
}
