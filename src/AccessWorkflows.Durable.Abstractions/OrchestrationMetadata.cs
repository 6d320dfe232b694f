using System.Text.Json;

namespace AccessWorkflows.Durable;

/// <summary>The state of one instance as the client sees it, as Durable Functions' <c>OrchestrationMetadata</c>.
/// Inputs, outputs and custom status are JSON (camelCase, System.Text.Json web defaults).</summary>
public sealed class OrchestrationMetadata
{
    public OrchestrationMetadata(string name, string instanceId)
    {
        Name = name;
        InstanceId = instanceId;
    }

    public string Name { get; }

    public string InstanceId { get; }

    public OrchestrationRuntimeStatus RuntimeStatus { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset LastUpdatedAt { get; init; }

    public string? SerializedInput { get; init; }

    public string? SerializedOutput { get; init; }

    public string? SerializedCustomStatus { get; init; }

    public TaskFailureDetails? FailureDetails { get; init; }

    public bool IsRunning => RuntimeStatus is OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended;

    public bool IsCompleted => !IsRunning;

    public T? ReadInputAs<T>() => Read<T>(SerializedInput);

    public T? ReadOutputAs<T>() => Read<T>(SerializedOutput);

    public T? ReadCustomStatusAs<T>() => Read<T>(SerializedCustomStatus);

    private static T? Read<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, DurableJson.Options);
}

/// <summary>The one JSON shape of everything that crosses a durable boundary (inputs, outputs, events, status).</summary>
public static class DurableJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}
