namespace AccessWorkflows.Durable;

/// <summary>The name of an orchestrator or activity. Names compare case-insensitively, as in Durable Functions.</summary>
public readonly record struct TaskName(string Name)
{
    public static implicit operator TaskName(string name) => new(name);

    public bool Equals(TaskName other) => string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase);

    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Name ?? string.Empty);

    public override string ToString() => Name;
}
