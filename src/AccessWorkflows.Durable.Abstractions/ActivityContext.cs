namespace AccessWorkflows.Durable;

/// <summary>What an activity knows of its invocation. Activities run at least once: make them idempotent.</summary>
public sealed record ActivityContext(TaskName Name, string InstanceId, int Attempt);
