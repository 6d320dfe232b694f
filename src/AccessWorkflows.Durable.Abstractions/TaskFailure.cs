namespace AccessWorkflows.Durable;

/// <summary>What went wrong in a failed activity or orchestration; serializable, so it survives in history.</summary>
public sealed record TaskFailureDetails(string ErrorType, string ErrorMessage, string? StackTrace = null, TaskFailureDetails? InnerFailure = null)
{
    public static TaskFailureDetails FromException(Exception exception) => new(
        exception.GetType().FullName ?? exception.GetType().Name,
        exception.Message,
        exception.StackTrace,
        exception.InnerException is null ? null : FromException(exception.InnerException));

    /// <summary>True when the failure was caused by an exception of type <typeparamref name="T"/> (by full name).</summary>
    public bool IsCausedBy<T>()
        where T : Exception
        => ErrorType == typeof(T).FullName || InnerFailure?.IsCausedBy<T>() == true;

    public override string ToString() => $"{ErrorType}: {ErrorMessage}";
}

/// <summary>Thrown into an orchestrator when an activity it awaited failed after all its retries.</summary>
public sealed class TaskFailedException : Exception
{
    public TaskFailedException(TaskName taskName, int taskId, TaskFailureDetails failureDetails)
        : base($"Task '{taskName}' (#{taskId}) failed with an unhandled exception: {failureDetails.ErrorMessage}")
    {
        TaskName = taskName;
        TaskId = taskId;
        FailureDetails = failureDetails;
    }

    public TaskName TaskName { get; }

    public int TaskId { get; }

    public TaskFailureDetails FailureDetails { get; }
}

/// <summary>
/// Thrown when orchestrator code asks for something other than what its history recorded at that step:
/// the code changed under a running instance, or it is not deterministic. The engine fails the instance with it.
/// </summary>
public sealed class NonDeterministicOrchestrationException : Exception
{
    public NonDeterministicOrchestrationException(string message)
        : base(message)
    {
    }
}
