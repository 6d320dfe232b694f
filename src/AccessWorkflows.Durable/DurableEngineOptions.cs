namespace AccessWorkflows.Durable.Embedded;

/// <summary>Settings of a <see cref="DurableEngine"/>.</summary>
public sealed class DurableEngineOptions
{
    /// <summary>The SQLite file holding every instance; created when missing. One engine per file at a time:
    /// claims on work are in memory, so two live engines on one file would both run the same steps.</summary>
    public string DatabasePath { get; set; } = "durable.db";

    /// <summary>Orchestration steps run at once (each on its own instance).</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 2 * Environment.ProcessorCount;

    /// <summary>Activities run at once.</summary>
    public int MaxConcurrentActivities { get; set; } = 8;

    /// <summary>The clock of durable timers and of <c>CurrentUtcDateTime</c>. Tests pass a manual clock and advance
    /// it: timers then fire exactly when it passes their time.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>A safety net only: the engine hears of every write of its own at once. The timer dispatcher and
    /// <c>WaitForInstanceCompletionAsync</c> look again this often anyway. Measured in real time, whatever
    /// <see cref="TimeProvider"/> is.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Memory for the rows and histories of instances between their steps (estimated, least recently used
    /// goes first), so that a step of a recently active instance reads nothing from the database. An instance that went
    /// to sleep on a timer a minute or more away is not kept: its next step reads it back. 0 turns it off.</summary>
    public long InstanceCacheBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Timer rows held in memory a page at a time: the earliest this many, the rest read when those have fired.
    /// Tests make it small.</summary>
    internal int TimerPageSize { get; set; } = 10_000;

    /// <summary>Inbox messages one step consumes at most.</summary>
    public int MaxMessagesPerStep { get; set; } = 100;
}
