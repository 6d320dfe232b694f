using System.Collections.Concurrent;
using System.Diagnostics;
using AccessWorkflows.Durable.Embedded;

namespace AccessWorkflows.Durable.Tests;

/// <summary>
/// Real crashes: the engine runs in a child process (this test assembly, started through its own <see cref="Program"/>)
/// that is killed with SIGKILL, in turns in the middle of a group commit (its statements ran, COMMIT did not) and while
/// it is busy at no point aligned with a commit (after some starts were acknowledged). Whatever the child acknowledged must survive; what it had not committed must leave no trace
/// that breaks an instance; a new engine on the file completes everything.
/// </summary>
public sealed class ProcessKillTests
{
    internal const int InstancesPerRound = 25;
    private const int Rounds = 4;

    [Fact]
    public async Task Nothing_acknowledged_is_lost_when_the_process_is_killed_inside_a_group_commit_or_anywhere()
    {
        await using var harness = new EngineHarness();
        var acknowledged = new List<string>();
        for (var round = 0; round < Rounds; round++)
        {
            // Even rounds die inside the n-th multi-write transaction, odd rounds once some starts were acknowledged,
            // while steps, activities and timers of the earlier rounds' instances are under way.
            var killInsideBatch = round % 2 == 0 ? 3 + round : 0;
            var child = CrashChild.Start(harness.DatabasePath, round, killInsideBatch);
            var diedInsideCommit = await child.KillAsync(afterAcknowledged: killInsideBatch > 0 ? null : 5 * round);
            Assert.True(killInsideBatch == 0 || diedInsideCommit, $"round {round}: the child never reached its batch {killInsideBatch}");
            acknowledged.AddRange(child.Acknowledged);
        }

        Assert.NotEmpty(acknowledged);
        var engine = await harness.StartAsync(CrashChild.Registry());
        foreach (var id in acknowledged)
        {
            var result = await EngineHarness.WaitForCompletionAsync(engine, id);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(CrashChild.Expected, result.ReadOutputAs<int>());
        }
    }
}

/// <summary>The child side: an engine on the given file that starts a round of instances, printing each id once its
/// start is acknowledged, and (when told) stops inside its n-th multi-write transaction, before COMMIT, and says so.</summary>
internal sealed class CrashChild
{
    public const int Steps = 6;
    public const int Expected = 91; // 1² + ... + 6²

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _acknowledged = new();
    private readonly TaskCompletionSource _insideCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _acknowledgements = new(0);

    private CrashChild(Process process) => _process = process;

    public IEnumerable<string> Acknowledged => _acknowledged;

    public static DurableTaskRegistry Registry() => new DurableTaskRegistry()
        .AddActivity<int, int>("Square", (ctx, n, ct) => Task.FromResult(n * n))
        .AddOrchestrator<int, int>("Squares", async (ctx, count) =>
        {
            var sum = 0;
            for (var i = 1; i <= count; i++)
            {
                sum += await ctx.CallActivityAsync<int>("Square", i);
                if (i % 2 == 0)
                {
                    await ctx.CreateTimer(TimeSpan.Zero, CancellationToken.None);
                }
            }

            return sum;
        });

    public static CrashChild Start(string databasePath, int round, int killInsideBatch)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", typeof(CrashChild).Assembly.Location, "crash-child", databasePath, $"{round}", $"{killInsideBatch}" })
        {
            start.ArgumentList.Add(arg);
        }

        var child = new CrashChild(Process.Start(start)!);
        child._process.OutputDataReceived += (_, line) =>
        {
            switch (line.Data)
            {
                case null:
                    break;
                case "started":
                    child._started.TrySetResult();
                    break;
                case "inside-commit":
                    child._insideCommit.TrySetResult();
                    break;
                case var data when data.StartsWith("acknowledged ", StringComparison.Ordinal):
                    child._acknowledged.Enqueue(data["acknowledged ".Length..]);
                    child._acknowledgements.Release();
                    break;
            }
        };
        child._process.BeginOutputReadLine();
        return child;
    }

    /// <summary>SIGKILL once the child is inside its chosen commit, or once it acknowledged
    /// <paramref name="afterAcknowledged"/> starts. True when it died inside a commit.</summary>
    public async Task<bool> KillAsync(int? afterAcknowledged)
    {
        using var patience = new CancellationTokenSource(EngineHarness.Patience);
        await _started.Task.WaitAsync(patience.Token);
        var inside = false;
        if (afterAcknowledged is { } count)
        {
            for (var i = 0; i < count; i++)
            {
                await _acknowledgements.WaitAsync(patience.Token);
            }
        }
        else
        {
            await _insideCommit.Task.WaitAsync(patience.Token);
            inside = true;
        }

        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(patience.Token);

        // Lines printed before the kill may still be in the pipe.
        _process.WaitForExit();
        _process.Dispose();
        return inside;
    }

    /// <summary>The child's main: never returns on its own; the parent kills it.</summary>
    public static int Run(string databasePath, int round, int killInsideBatch)
    {
        var engine = new DurableEngine(Registry(), new DurableEngineOptions { DatabasePath = databasePath });
        var batches = 0;
        engine.Store.BeforeCommit = size =>
        {
            if (killInsideBatch > 0 && size > 1 && ++batches == killInsideBatch)
            {
                Console.WriteLine("inside-commit");
                Console.Out.Flush();
                new ManualResetEventSlim().Wait();
            }
        };
        engine.StartAsync().GetAwaiter().GetResult();
        Console.WriteLine("started");
        Console.Out.Flush();
        Parallel.For(0, ProcessKillTests.InstancesPerRound, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var id = $"round{round}-{i}";
            engine.Client.ScheduleNewOrchestrationInstanceAsync("Squares", Steps, new StartOrchestrationOptions(id)).GetAwaiter().GetResult();
            lock (Console.Out)
            {
                Console.WriteLine($"acknowledged {id}");
                Console.Out.Flush();
            }
        });
        new ManualResetEventSlim().Wait();
        return 0;
    }
}

/// <summary>The test assembly's entry point: the test host never calls it; <see cref="CrashChild"/> starts the assembly
/// with <c>crash-child</c> to run an engine it can kill.</summary>
internal static class Program
{
    public static int Main(string[] args)
        => args is ["crash-child", var path, var round, var batch]
            ? CrashChild.Run(path, int.Parse(round, System.Globalization.CultureInfo.InvariantCulture), int.Parse(batch, System.Globalization.CultureInfo.InvariantCulture))
            : 0;
}
